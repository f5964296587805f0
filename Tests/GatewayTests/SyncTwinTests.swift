import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The thread-per-connection twin (Benchmarks/SyncTwin) against the gateway: the same
/// requests, each server with its own fresh redis-server, must get the same response
/// bytes. Every request carries its own `X-Request-Id`, which both servers echo (in the
/// header and in error bodies), so the one part normalised is the `Date` header's value.
final class SyncTwinTests: XCTestCase {
    private var gatewayRedis: RedisServer!
    private var twinRedis: RedisServer!
    private var gateway: GatewayProcess!
    private var twin: TwinProcess!

    override func setUpWithError() throws {
        gatewayRedis = try RedisServer()
        twinRedis = try RedisServer()
        gateway = try GatewayProcess(arguments: ["--store", gatewayRedis.url])
        twin = try TwinProcess(storePort: twinRedis.port)
    }

    override func tearDown() {
        if let gateway { XCTAssertEqual(gateway.stop(), 0, gateway.log) }
        twin = nil
        gateway = nil
        gatewayRedis = nil
        twinRedis = nil
    }

    func testRecordGetAndPutAnswerTheSameBytes() throws {
        let exchanges: [[String]] = [
            [get("/v1/kv/app/users/alice", id: "r1")],
            [put("/v1/kv/app/users/alice", #"{"bins":{"name":"Alice","age":30}}"#, id: "r2")],
            [put("/v1/kv/app/users/alice?ttl=600", #"{"bins":{"name":"Alice","tags":["a","b"],"x":null}}"#, id: "r3")],
            [get("/v1/kv/app/users/alice", id: "r4")],
            [get("/v1/kv/app/users/alice?bins=name,missing,name", id: "r5")],
            [put("/v1/kv/app/users/alice", #"{"bins":{"n":1}}"#, id: "r6", extra: "If-Match: \"1\"\r\n")],
            [put("/v1/kv/app/users/alice", #"{"bins":{"n":2}}"#, id: "r7", extra: "If-Match: \"2\"\r\n")],
            [put("/v1/kv/app/users/bob", #"{"bins":{"n":1}}"#, id: "r8", extra: "If-Match: *\r\n")],
            [put("/v1/kv/app/users/alice", #"{"bins":{"#, id: "r9")],
            [put("/v1/kv/app/users/caf%C3%A9", #"{"bins":{"s":"\u00e9\n\"q\"","f":1.5e3,"b":true}}"#, id: "r10")],
            [get("/v1/kv/app/users/caf%C3%A9", id: "r11")],
            [get("/v1/kv/app/users/alice?bogus=1", id: "r12")],
            [get("/v1/kv/bad%2Fns/users/alice", id: "r13")],
            [get("/nope", id: "r14")],
            // Two requests in one write: answered in order on the same connection.
            [get("/v1/kv/app/users/alice", id: "r15"), get("/v1/kv/app/users/caf%C3%A9", id: "r16")],
        ]
        let gatewayAnswers = try answers(port: gateway.port, exchanges)
        let twinAnswers = try answers(port: twin.port, exchanges)
        XCTAssertEqual(gatewayAnswers.count, 16)
        XCTAssertEqual(twinAnswers.count, gatewayAnswers.count)
        for (index, (expected, actual)) in zip(gatewayAnswers, twinAnswers).enumerated() {
            XCTAssertEqual(actual, expected, "response \(index + 1)")
        }
        // The sequence covers each outcome the handlers produce.
        let statuses = gatewayAnswers.map { $0.split(separator: " ")[1] }
        XCTAssertEqual(
            statuses,
            [
                "404", "201", "200", "200", "200", "412", "200", "412", "400", "201", "200", "400", "400", "404",
                "200", "200",
            ])
        XCTAssertTrue(gatewayAnswers[1].contains("\r\nLocation: /v1/kv/app/users/alice\r\n"))
        XCTAssertTrue(gatewayAnswers[0].contains(#""request_id":"r1""#))
    }

    /// A record written before `_exp` existed: both read it again with its TTL (the twin
    /// through `RecordExchange.Answer.followUp`), and both finish its first replace with
    /// `convert`. Without a TTL, so the two reads, a moment apart, show the same one.
    func testARecordInTheOldLayoutAnswersTheSameBytes() throws {
        for redis in [gatewayRedis!, twinRedis!] {
            try redis.cli(["HSET", "sg:{app/users/old}", "_gen", "7", "b:a", "1", "b:b", "\"x\""])
        }
        let exchanges: [[String]] = [
            [get("/v1/kv/app/users/old", id: "o1")], [get("/v1/kv/app/users/old?bins=b", id: "o2")],
            [put("/v1/kv/app/users/old", #"{"bins":{"c":3}}"#, id: "o3")], [get("/v1/kv/app/users/old", id: "o4")],
        ]
        let gatewayAnswers = try answers(port: gateway.port, exchanges)
        XCTAssertEqual(try answers(port: twin.port, exchanges), gatewayAnswers)
        XCTAssertEqual(gatewayAnswers.count, 4)
        XCTAssertTrue(gatewayAnswers[0].hasSuffix(#"{"bins":{"a":1,"b":"x"},"generation":7,"ttl":-1}"#))
        XCTAssertTrue(gatewayAnswers[1].hasSuffix(#"{"bins":{"b":"x"},"generation":7,"ttl":-1}"#))
        XCTAssertTrue(gatewayAnswers[2].hasSuffix(#"{"bins":{"c":3},"generation":8,"ttl":-1}"#), gatewayAnswers[2])
        XCTAssertTrue(gatewayAnswers[3].hasSuffix(#"{"bins":{"c":3},"generation":8,"ttl":-1}"#), gatewayAnswers[3])
        for redis in [gatewayRedis!, twinRedis!] {
            XCTAssertEqual(
                try redis.cli(["HKEYS", "sg:{app/users/old}"]).split(separator: "\n").sorted(), ["_b", "_exp", "_gen"])
        }
    }

    func testConnectionCloseIsHonoured() throws {
        let request = "GET /v1/kv/app/users/nobody HTTP/1.1\r\nHost: t\r\nX-Request-Id: c1\r\nConnection: close\r\n\r\n"
        var results: [String] = []
        for port in [gateway.port, twin.port] {
            let client = try RawHTTPClient(port: port)
            try client.send(request)
            let bytes = client.readAll()
            XCTAssertTrue(client.waitForClose(), "port \(port) closes after Connection: close")
            results.append(Self.normalised(bytes))
        }
        XCTAssertTrue(results[0].contains("\r\nConnection: close\r\n"))
        XCTAssertEqual(results[1], results[0])
    }

    // MARK: helpers

    private func get(_ path: String, id: String) -> String {
        "GET \(path) HTTP/1.1\r\nHost: t\r\nX-Request-Id: \(id)\r\n\r\n"
    }

    private func put(_ path: String, _ body: String, id: String, extra: String = "") -> String {
        "PUT \(path) HTTP/1.1\r\nHost: t\r\nX-Request-Id: \(id)\r\nContent-Type: application/json\r\n\(extra)"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Sends each group of requests in one write on one keep-alive connection and
    /// returns every response's bytes, normalised.
    private func answers(port: UInt16, _ exchanges: [[String]]) throws -> [String] {
        let client = try RawHTTPClient(port: port)
        var consumed = 0
        var result: [String] = []
        for group in exchanges {
            try client.send(group.joined())
            for _ in group {
                while true {
                    let pending = Array(client.unreadBytes[consumed...])
                    if let (_, used) = ParsedResponse.parse(pending) {
                        result.append(Self.normalised(Array(pending[..<used])))
                        consumed += used
                        break
                    }
                    guard client.fill() else { throw TestError("port \(port): no response to \(group)") }
                }
            }
        }
        return result
    }

    /// The response text with the `Date` header's value replaced.
    private static func normalised(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).replacingOccurrences(
            of: #"\r\nDate: [^\r]*"#, with: "\r\nDate: -", options: .regularExpression)
    }
}

/// The built `SyncTwin` binary on a free loopback port, killed on deinit.
private final class TwinProcess {
    let port: UInt16
    private let process = Process()

    init(storePort: UInt16) throws {
        port = freePort()
        let binary = buildProductsDirectory.appendingPathComponent("SyncTwin")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestError("SyncTwin binary not found at \(binary.path); build it first")
        }
        process.executableURL = binary
        process.arguments = ["--listen", "127.0.0.1:\(port)", "--store", "127.0.0.1:\(storePort)"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let port = port
        guard eventually(within: 10, { (try? RawHTTPClient(port: port, timeout: 1)) != nil }) else {
            throw TestError("SyncTwin did not start")
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
