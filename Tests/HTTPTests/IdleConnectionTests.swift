import EventLoop
import Foundation
import HTTP
import TestSupport
import XCTest

/// What an idle keep-alive connection keeps: no parser (it is lent from the server's
/// pool only while a request is read), whatever the connection did before.
final class IdleConnectionTests: XCTestCase {
    /// Answers `/parsers` with the pool's counts as seen while that request is handled.
    private func startServer(limits: HTTPLimits = HTTPLimits()) throws -> LoopThread {
        try LoopThread { loop in
            final class Box { weak var server: HTTPServer? }  // weak: the handler holds the box
            let box = Box()
            let server = HTTPServer(loop: loop, limits: limits) { request, responder in
                if request.path == "/parsers", let pool = box.server?.parsers {
                    let body = "created=\(pool.createdCount) idle=\(pool.idleCount)"
                    responder.respond(HTTPResponse(status: 200, contentType: "text/plain", body: body))
                } else {
                    TestServer.route(request, responder, loop: loop)
                }
            }
            box.server = server
            let port = try server.listen(on: .inet(host: "127.0.0.1", port: 0))
            return (port, { server.close() })
        }
    }

    private func get(_ path: String, on client: RawHTTPClient) throws -> ParsedResponse {
        try client.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
        return try XCTUnwrap(client.readResponse())
    }

    func testIdleKeepAliveConnectionsHoldNoParser() throws {
        let thread = try startServer()
        var clients: [RawHTTPClient] = []
        for index in 0..<20 {
            let client = try RawHTTPClient(port: thread.port, timeout: 5 * timeoutMultiplier)
            XCTAssertEqual(try get("/n/\(index)", on: client).bodyText, "/n/\(index)")
            clients.append(client)
        }
        // 20 connections stay open and idle; the one parser made was handed on each time.
        let asker = try RawHTTPClient(port: thread.port, timeout: 5 * timeoutMultiplier)
        XCTAssertEqual(try get("/parsers", on: asker).bodyText, "created=1 idle=0")
        // Every connection still serves its next request.
        for (index, client) in clients.enumerated() {
            XCTAssertEqual(try get("/again/\(index)", on: client).bodyText, "/again/\(index)")
        }
        XCTAssertEqual(try get("/parsers", on: asker).bodyText, "created=1 idle=0")
        thread.stop()
        XCTAssertEqual(thread.leakedHandles, 0)
    }

    func testARequestSplitAcrossReadsKeepsItsParserUntilItIsWhole() throws {
        let thread = try startServer()
        let slow = try RawHTTPClient(port: thread.port, timeout: 5 * timeoutMultiplier)
        try slow.send("GET /half HTTP/1.1\r\nHo")
        let asker = try RawHTTPClient(port: thread.port, timeout: 5 * timeoutMultiplier)
        // Eventually the half-read request is parsed up to "Ho" and holds the only other parser.
        var answer = ""
        for _ in 0..<100 {
            answer = try get("/parsers", on: asker).bodyText
            if answer == "created=2 idle=0" { break }
            usleep(10_000)
        }
        XCTAssertEqual(answer, "created=2 idle=0")
        try slow.send("st: t\r\n\r\n")
        XCTAssertEqual(slow.readResponse()?.bodyText, "/half")
        XCTAssertEqual(try get("/parsers", on: asker).bodyText, "created=2 idle=1")
        thread.stop()
        XCTAssertEqual(thread.leakedHandles, 0)
    }

    func testPipelinedRequestsPastTheCapAreAllAnsweredInOrder() throws {
        var limits = HTTPLimits()
        limits.maxPipelinedRequests = 2
        let thread = try startServer(limits: limits)
        let client = try RawHTTPClient(port: thread.port, timeout: 5 * timeoutMultiplier)
        let paths = ["/delay/30", "/a", "/delay/10", "/b", "/c", "/d"]
        try client.send(paths.map { "GET \($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
        for path in paths { XCTAssertEqual(client.readResponse()?.bodyText, path) }
        XCTAssertEqual(try get("/parsers", on: client).bodyText, "created=1 idle=0")
        thread.stop()
        XCTAssertEqual(thread.leakedHandles, 0)
    }
}
