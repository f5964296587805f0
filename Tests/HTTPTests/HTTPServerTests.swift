import Foundation
import HTTP
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class HTTPServerTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        if let server { XCTAssertEqual(server.stop(), 0, "libuv handles left open at loop close") }
        server = nil
    }

    private func get(_ path: String, on client: RawHTTPClient) throws -> ParsedResponse {
        try client.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
        return try XCTUnwrap(client.readResponse())
    }

    func testKeepAliveServesManyRequestsOnOneConnection() throws {
        let client = try server.connect()
        for index in 0..<20 {
            let response = try get("/n/\(index)", on: client)
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.bodyText, "/n/\(index)")
            XCTAssertEqual(response.header("Server"), "storegate")
            XCTAssertNotNil(response.header("Date"))
            XCTAssertNil(response.header("Connection"))
        }
    }

    func testPipelinedRequestsInOneWriteAreAnsweredInOrderEvenWhenTheyFinishOutOfOrder() throws {
        let client = try server.connect()
        let delays = [60, 0, 40, 10, 0, 30, 5, 0]
        let batch = delays.enumerated().map { "GET /delay/\($1)?i=\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined()
        try client.send(batch)
        for delay in delays {
            let response = try XCTUnwrap(client.readResponse())
            XCTAssertEqual(response.bodyText, "/delay/\(delay)")
        }
    }

    /// A lent body is written at once when its response is first in line, and copied to
    /// wait when it is behind one still pending: either way in order, with its ETag, and
    /// a HEAD gets the length without the body.
    func testLentBodiesLeaveInOrderWhetherWrittenAtOnceOrKept() throws {
        let client = try server.connect()
        let delays = [40, 0, 20, 0]
        var batch = delays.enumerated().map { "GET /lent/\($1)?i=\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined()
        batch += "HEAD /lent/0?i=head HTTP/1.1\r\nHost: t\r\n\r\nGET /next HTTP/1.1\r\nHost: t\r\n\r\n"
        try client.send(batch)
        for (index, delay) in delays.enumerated() {
            let response = try XCTUnwrap(client.readResponse())
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.bodyText, "lent /lent/\(delay)?i=\(index)")
            XCTAssertEqual(response.header("ETag"), "\"7\"")
            XCTAssertEqual(response.header("Content-Type"), "text/plain")
        }
        let head = try XCTUnwrap(client.readResponse(forHead: true))
        XCTAssertEqual(head.header("Content-Length"), String("lent /lent/0?i=head".utf8.count))
        XCTAssertEqual(try XCTUnwrap(client.readResponse()).bodyText, "/next", "no body bytes were sent for HEAD")
        let alone = try get("/lent/0", on: client)
        XCTAssertEqual(alone.bodyText, "lent /lent/0")
        XCTAssertEqual(alone.header("Content-Length"), String("lent /lent/0".utf8.count))
    }

    func testRequestsSplitAcrossWritesAtEveryByte() throws {
        let request = Array("POST /echo?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello".utf8)
        for cut in 1..<request.count {
            let client = try server.connect()
            var one: Int32 = 1
            setsockopt(client.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            try client.send(Array(request[..<cut]))
            usleep(300)
            try client.send(Array(request[cut...]))
            let response = try XCTUnwrap(client.readResponse(), "cut \(cut)")
            XCTAssertEqual(response.bodyText, "POST /echo?x=1 hello", "cut \(cut)")
        }
    }

    func testChunkedRequestBodyAndChunkedResponse() throws {
        let client = try server.connect()
        try client.send(
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.bodyText, "POST /echo abcde")
        let streamed = try get("/stream", on: client)
        XCTAssertTrue(streamed.chunked)
        XCTAssertEqual(streamed.bodyText, "one,two,three")
        XCTAssertEqual(try get("/after", on: client).bodyText, "/after", "keep-alive after a chunked response")
    }

    func testHeadHasContentLengthButNoBody() throws {
        let client = try server.connect()
        try client.send("HEAD /big/1000 HTTP/1.1\r\nHost: t\r\n\r\nGET /next HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try XCTUnwrap(client.readResponse(forHead: true))
        XCTAssertEqual(head.header("Content-Length"), "1000")
        let next = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(next.bodyText, "/next", "no body bytes were sent for HEAD")
    }

    func testExpectContinueGetsAnInterimResponseBeforeTheBody() throws {
        let client = try server.connect()
        try client.send("PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let interim = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(interim.status, 100)
        try client.send("data")
        XCTAssertEqual(client.readResponse()?.bodyText, "PUT /echo data")
    }

    func testExpectContinueWithTooLargeBodyGets413WithoutReadingIt() throws {
        let client = try server.connect()
        try client.send("PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n")
        let response = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(response.status, 413)
        XCTAssertTrue(client.waitForClose())
    }

    func testHTTP10AndConnectionCloseEndTheConnection() throws {
        let old = try server.connect()
        try old.send("GET /old HTTP/1.0\r\n\r\n")
        let response = try XCTUnwrap(old.readResponse())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(old.waitForClose())

        let client = try server.connect()
        try client.send("GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(client.readResponse()?.bodyText, "/a")
        XCTAssertTrue(client.waitForClose())
        XCTAssertFalse(server.log.executed.contains("/never"), "nothing after Connection: close is executed")
    }

    func testMalformedRequestInAPipelineAnswersEarlierOnesThenOne400ThenCloses() throws {
        let client = try server.connect()
        let good = (0..<5).map { "GET /ok/\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined()
        try client.send(
            good + "GET /bad HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n" + "GET /sentinel HTTP/1.1\r\nHost: t\r\n\r\n")
        for index in 0..<5 { XCTAssertEqual(client.readResponse()?.bodyText, "/ok/\(index)") }
        let refused = try XCTUnwrap(client.readResponse())
        XCTAssertEqual(refused.status, 400)
        XCTAssertEqual(refused.header("Connection"), "close")
        XCTAssertEqual(refused.errorCode, "malformed_request")
        XCTAssertTrue(client.waitForClose())
        XCTAssertTrue(client.unreadBytes.isEmpty, "exactly one response after the refusal")
        XCTAssertFalse(server.log.executed.contains("/sentinel"))
        XCTAssertFalse(server.log.executed.contains("/bad"))
        XCTAssertEqual(try get("/fresh", on: try server.connect()).status, 200, "a new connection is served")
    }

    func testPipelineCapPausesReadingWithoutFailing() throws {
        server.stop().ignore()
        var limits = HTTPLimits()
        limits.maxPipelinedRequests = 2
        server = try TestServer(limits: limits)
        let client = try server.connect()
        try client.send((0..<10).map { "GET /delay/20?i=\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
        usleep(5_000)
        XCTAssertLessThanOrEqual(server.log.executed.count, 2, "at most the cap in progress")
        for _ in 0..<10 { XCTAssertEqual(client.readResponse()?.status, 200) }
        XCTAssertEqual(server.log.executed.count, 10)
    }

    func testTimeoutsAndIdleClose() throws {
        server.stop().ignore()
        var limits = HTTPLimits()
        limits.headerTimeoutMs = 300
        limits.keepAliveTimeoutMs = 300
        limits.bodyTimeoutMs = 300
        server = try TestServer(limits: limits)

        let slowHead = try server.connect()
        try slowHead.send("GET / HTTP/1.1\r\nHost: t\r\n")
        let timedOut = try XCTUnwrap(slowHead.readResponse())
        XCTAssertEqual(timedOut.status, 408)
        XCTAssertTrue(slowHead.waitForClose())

        let slowBody = try server.connect()
        try slowBody.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        XCTAssertEqual(slowBody.readResponse()?.status, 408)

        let idle = try server.connect()
        XCTAssertEqual(try get("/x", on: idle).status, 200)
        let start = Date()
        XCTAssertTrue(idle.waitForClose(), "idle keep-alive connection closed")
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        XCTAssertTrue(idle.unreadBytes.isEmpty, "closed silently")

        let silent = try server.connect()
        XCTAssertTrue(silent.waitForClose(), "a connection that never sends is closed too")
    }

    func testSlowReaderIsNotReadAndIsClosedWhenStuck() throws {
        server.stop().ignore()
        var limits = HTTPLimits()
        limits.maxUnsentBytes = 64 * 1024
        limits.slowReaderTimeoutMs = 500
        server = try TestServer(limits: limits)
        let client = try server.connect()
        var small: Int32 = 4096
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        // Many large responses, never read: the server stops reading, then closes.
        let requests = (0..<50).map { "GET /big/1000000?i=\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined()
        try? client.send(requests)
        XCTAssertTrue(eventually(within: 5) { !server.log.executed.isEmpty })
        usleep(1_500_000)
        XCTAssertLessThan(server.log.executed.count, 50, "stopped reading a client that does not read")
        let other = try server.connect()
        XCTAssertEqual(try get("/other", on: other).status, 200, "others are unaffected")
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        getsockopt(client.fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length)
        XCTAssertEqual(Int32(info.tcpi_state), Int32(TCP_CLOSE), "the stuck client was reset")
    }

    func testGlobalCapacityQueuesThenRefusesWith503AfterTheAdmissionTimeout() throws {
        server.stop().ignore()
        var limits = HTTPLimits()
        limits.maxRequestsInProgress = 2
        limits.admissionTimeoutMs = 150
        server = try TestServer(limits: limits)
        let clients = try (0..<6).map { _ in try server.connect() }
        let start = Date()
        for client in clients {
            try client.send("GET /delay/2000 HTTP/1.1\r\nHost: t\r\n\r\n")
            usleep(5_000)
        }
        usleep(30_000)
        XCTAssertEqual(server.log.executed.count, 2, "only the capacity reaches the handler")
        var refused = 0
        var served = 0
        // The first two were admitted; the others are answered first, by the admission timeout.
        for client in clients[2...] + clients[..<2] {
            guard let response = client.readResponse() else { continue }
            if response.status == 503 {
                refused += 1
                XCTAssertEqual(response.header("Retry-After"), "1")
                XCTAssertLessThan(
                    Date().timeIntervalSince(start), 1.5,
                    "refused after the admission timeout (0.15 s), not the work (2 s)")
            } else {
                XCTAssertEqual(response.status, 200)
                served += 1
            }
        }
        XCTAssertEqual(served, 2)
        XCTAssertEqual(refused, 4)
        XCTAssertEqual(server.log.executed.count, 2, "refused requests never ran")
        XCTAssertEqual(try get("/after", on: clients[5]).status, 200, "capacity is released")
    }

    func testWaitingRequestIsAdmittedWhenCapacityFrees() throws {
        server.stop().ignore()
        var limits = HTTPLimits()
        limits.maxRequestsInProgress = 1
        limits.admissionTimeoutMs = 2_000
        server = try TestServer(limits: limits)
        let first = try server.connect()
        let second = try server.connect()
        try first.send("GET /delay/100 HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(20_000)
        try second.send("GET /delay/0 HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(first.readResponse()?.status, 200)
        XCTAssertEqual(second.readResponse()?.status, 200, "admitted once the first finished")
    }

    func testConnectionCapClosesExtraConnectionsAtOnce() throws {
        server.stop().ignore()
        var limits = HTTPLimits()
        limits.maxConnections = 3
        server = try TestServer(limits: limits)
        let held = try (0..<3).map { _ in try server.connect() }
        for client in held { XCTAssertEqual(try get("/held", on: client).status, 200) }
        let extra = try server.connect()
        try? extra.send("GET /extra HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertNil(extra.readResponse())
        XCTAssertTrue(extra.peerClosed)
        XCTAssertEqual(try get("/still", on: held[0]).status, 200)
    }

    func testAThousandConcurrentKeepAliveClients() throws {
        raiseDescriptorLimit()
        let clients = try (0..<1000).map { _ in try server.connect(timeout: 20) }
        for (index, client) in clients.enumerated() {
            try client.send("GET /c/\(index) HTTP/1.1\r\nHost: t\r\n\r\n")
        }
        for (index, client) in clients.enumerated() {
            XCTAssertEqual(client.readResponse()?.bodyText, "/c/\(index)")
        }
        for (index, client) in clients.enumerated() {
            XCTAssertEqual(try get("/again/\(index)", on: client).status, 200)
        }
    }

    func testDrainFinishesRequestsInProgressAndRefusesNewConnections() throws {
        let busy = try server.connect()
        try busy.send("GET /delay/400 HTTP/1.1\r\nHost: t\r\n\r\n")
        let idle = try server.connect()
        XCTAssertEqual(try get("/idle", on: idle).status, 200)
        XCTAssertTrue(eventually { server.log.executed.contains("/delay/400") })
        server.drain()
        XCTAssertTrue(idle.waitForClose(), "idle connections close at once")
        let response = try XCTUnwrap(busy.readResponse())
        XCTAssertEqual(response.status, 200, "the request in progress completes")
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(busy.waitForClose())
        XCTAssertThrowsError(try server.connect(), "no longer listening")
    }
}

extension Int {
    func ignore() {}
}

func raiseDescriptorLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
