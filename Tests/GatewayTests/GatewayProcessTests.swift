import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The built `storegate` binary over real HTTP: routes, error bodies, the refusal
/// vectors with a sentinel request behind each, and graceful shutdown.
final class GatewayProcessTests: XCTestCase {
    func testHealthzAndErrorShapes() throws {
        let gateway = try GatewayProcess()
        let health = try gateway.get("/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json?["status"] as? String, "ok")
        XCTAssertEqual(health.header("Content-Type"), "application/json")

        let missing = try gateway.get("/nope")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.errorCode, "not_found")
        let error = try XCTUnwrap(missing.json?["error"] as? [String: Any])
        XCTAssertFalse((error["message"] as? String ?? "").isEmpty)
        XCTAssertFalse((error["request_id"] as? String ?? "").isEmpty)

        let wrongMethod = try gateway.request("DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.header("Allow"), "GET, HEAD")
        XCTAssertEqual(wrongMethod.errorCode, "method_not_allowed")

        let query = try gateway.request("QUERY /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(query.status, 405, "a method llhttp does not know still gets 405")
        XCTAssertEqual(query.header("Allow"), "GET, HEAD")
        XCTAssertEqual(query.header("Connection"), "close")
        XCTAssertEqual(try gateway.request("TRACE /nope HTTP/1.1\r\nHost: t\r\n\r\n").status, 404)

        let head = try gateway.request("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), "15")
        XCTAssertEqual(gateway.stop(), 0)
    }

    func testRequestIDsAreUniqueAcrossConnections() throws {
        let gateway = try GatewayProcess()
        var ids = Set<String>()
        for _ in 0..<20 {
            let response = try gateway.get("/nope")
            let error = try XCTUnwrap(response.json?["error"] as? [String: Any])
            ids.insert(try XCTUnwrap(error["request_id"] as? String))
        }
        XCTAssertEqual(ids.count, 20)
    }

    /// reliability.md A2: every refused shape gets exactly one response with the right
    /// status, the connection closes, and the request behind it never gets an answer.
    func testRefusedRequestsGetOneResponseThenCloseAndTheSentinelIsNeverAnswered() throws {
        let gateway = try GatewayProcess(arguments: ["--max-body-bytes", "1000"])
        let sentinel = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        let vectors: [(String, Int)] = [
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
            ("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),
            ("GET / HTTP/1.1\nHost: a\n\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", 400),
            ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: a\r\n\r\n", 414),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: 9000))\r\n\r\n", 431),
            ("GET / HTTP/1.1\r\nHost: a\r\n" + (0..<101).map { "X-\($0): 1\r\n" }.joined() + "\r\n", 431),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", 413),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ]
        for (vector, status) in vectors {
            let client = try gateway.connect()
            try client.send(vector + sentinel)
            let response = try XCTUnwrap(client.readResponse(), vector.debugDescription)
            XCTAssertEqual(response.status, status, vector.prefix(80).debugDescription)
            XCTAssertEqual(response.header("Connection"), "close")
            XCTAssertNotNil(response.errorCode, "JSON error body")
            XCTAssertTrue(client.waitForClose(), "closed after \(vector.prefix(80).debugDescription)")
            XCTAssertTrue(client.unreadBytes.isEmpty, "no second response for \(vector.prefix(80).debugDescription)")
            XCTAssertEqual(try gateway.get("/healthz").status, 200, "a new connection is served")
        }
        XCTAssertEqual(gateway.stop(), 0)
    }

    func testSIGTERMLetsARequestInProgressFinishThenExitsZero() throws {
        let gateway = try GatewayProcess(arguments: ["--shutdown-grace-ms", "5000"])
        let idle = try gateway.connect()
        try idle.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(idle.readResponse()?.status, 200)
        let inProgress = try gateway.connect()
        try inProgress.send("GET /healthz HTTP/1.1\r\nHost: t\r\n")  // head not finished yet
        usleep(100_000)
        kill(gateway.pid, SIGTERM)
        XCTAssertTrue(idle.waitForClose(), "idle keep-alive connections are closed")
        usleep(200_000)
        XCTAssertTrue(gateway.process.isRunning, "still draining the request in progress")
        try inProgress.send("\r\n")
        let response = try XCTUnwrap(inProgress.readResponse())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(eventually(within: 5) { !gateway.process.isRunning })
        XCTAssertEqual(gateway.process.terminationStatus, 0)
        XCTAssertFalse(gateway.log.contains("still open"), gateway.log)
        XCTAssertTrue(gateway.log.contains(#""event":"stopped""#), gateway.log)
    }

    func testGraceTimeoutClosesStuckConnectionsAndStillExitsZero() throws {
        let gateway = try GatewayProcess(arguments: ["--shutdown-grace-ms", "300"])
        let stuck = try gateway.connect()
        try stuck.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab")
        usleep(100_000)
        let start = Date()
        XCTAssertEqual(gateway.stop(), 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        XCTAssertFalse(gateway.log.contains("still open"), gateway.log)
    }

    func testConfigurationErrorsAndHelp() throws {
        let help = Process()
        help.executableURL = buildProductsDirectory.appendingPathComponent("storegate")
        help.arguments = ["--help"]
        let pipe = Pipe()
        help.standardOutput = pipe
        try help.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        help.waitUntilExit()
        XCTAssertEqual(help.terminationStatus, 0)
        for flag in ["--listen", "--store", "--max-body-bytes", "STOREGATE_MAX_BODY_BYTES", "--shutdown-grace-ms"] {
            XCTAssertTrue(text.contains(flag), "--help mentions \(flag)")
        }

        let bad = Process()
        bad.executableURL = help.executableURL
        bad.arguments = ["--max-body-bytes", "lots"]
        bad.standardError = FileHandle.nullDevice
        try bad.run()
        bad.waitUntilExit()
        XCTAssertEqual(bad.terminationStatus, 64)
    }

    func testEnvironmentVariablesConfigureLimits() throws {
        let gateway = try GatewayProcess(environment: ["STOREGATE_MAX_REQUEST_TARGET_BYTES": "64"])
        XCTAssertEqual(try gateway.get("/" + String(repeating: "a", count: 80)).status, 414)
        XCTAssertEqual(try gateway.get("/healthz").status, 200)
    }
}
