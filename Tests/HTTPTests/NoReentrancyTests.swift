import EventLoop
import Foundation
import HTTP
import TestSupport
import XCTest

/// What the handler saw, written on the loop thread and read by the test after the
/// responses arrived.
private final class Probe: @unchecked Sendable {
    private let lock = NSLock()
    private var violationList: [String] = []
    private var handledCount = 0
    /// Loop thread only: set around a `respond` call made from a timer.
    var insideRespond = false
    /// Loop thread only: handlers running right now (more than one means nesting).
    var depth = 0

    func record(_ target: String, violation: String?) {
        lock.lock()
        handledCount += 1
        if let violation { violationList.append("\(target): \(violation)") }
        lock.unlock()
    }

    var violations: [String] {
        lock.lock()
        defer { lock.unlock() }
        return violationList
    }

    var handled: Int {
        lock.lock()
        defer { lock.unlock() }
        return handledCount
    }
}

/// A request is handed to the handler only after llhttp returned, and never inside
/// another request's handling: not when a responder answers at once, not when a
/// response ends a pipeline pause, not when layer 2 admits waiting requests.
///
/// Routes: `/hold` answers after 300 ms from a timer, with `insideRespond` set around
/// the `respond` call; `/now` answers at once and records a violation if it runs
/// inside that call, inside another handler, or inside llhttp.
final class NoReentrancyTests: XCTestCase {
    private var thread: LoopThread?

    override func tearDown() {
        if let thread {
            thread.stop()
            XCTAssertEqual(thread.leakedHandles, 0, "libuv handles left open at loop close")
        }
        thread = nil
    }

    private func start(_ limits: HTTPLimits, _ probe: Probe) throws -> UInt16 {
        let thread = try LoopThread { loop in
            let server = HTTPServer(loop: loop, limits: limits) { request, responder in
                probe.depth += 1
                defer { probe.depth -= 1 }
                let target = String(request.path)
                if target == "/hold" {
                    probe.record(target, violation: nil)
                    let timer = EventLoop.Timer(loop: loop)
                    timer.start(afterMs: 300) {
                        probe.insideRespond = true
                        responder.respond(HTTPResponse(status: 200, contentType: "text/plain", body: "held"))
                        probe.insideRespond = false
                        timer.close()
                    }
                    return
                }
                var violations: [String] = []
                if probe.insideRespond { violations.append("ran inside another responder's respond()") }
                if probe.depth > 1 { violations.append("ran inside another handler (depth \(probe.depth))") }
                if responder.isInsideParser { violations.append("ran inside an llhttp callback") }
                probe.record(target, violation: violations.isEmpty ? nil : violations.joined(separator: ", "))
                responder.respond(HTTPResponse(status: 200, contentType: "text/plain", body: "now"))
            }
            let port = try server.listen(on: .inet(host: "127.0.0.1", port: 0))
            return (port, { server.close() })
        }
        self.thread = thread
        return thread.port
    }

    func testPipelinedRequestsAreDispatchedAfterTheParserReturns() throws {
        let probe = Probe()
        let port = try start(HTTPLimits(), probe)
        let client = try RawHTTPClient(port: port)
        try client.send(String(repeating: "GET /now HTTP/1.1\r\nHost: t\r\n\r\n", count: 8))
        for _ in 0..<8 { XCTAssertEqual(client.readResponse()?.bodyText, "now") }
        XCTAssertEqual(probe.handled, 8)
        XCTAssertEqual(probe.violations, [])
    }

    /// At the pipeline cap the rest of the read waits; the response that frees a slot
    /// does not parse it inside its own `respond`.
    func testEndOfAPipelinePauseDoesNotRunTheNextRequestInsideRespond() throws {
        var limits = HTTPLimits()
        limits.maxPipelinedRequests = 2
        let probe = Probe()
        let port = try start(limits, probe)
        let client = try RawHTTPClient(port: port)
        let requests = ["/hold"] + Array(repeating: "/now", count: 9)
        try client.send(requests.map { "GET \($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
        let bodies = (0..<requests.count).map { _ in client.readResponse()?.bodyText }
        XCTAssertEqual(bodies, ["held"] + Array(repeating: "now", count: 9))
        XCTAssertEqual(probe.handled, requests.count)
        XCTAssertEqual(probe.violations, [])
    }

    /// Capacity 1, held; requests waiting in admission are answered at once when
    /// admitted. Each is admitted by a loop, never inside the release of the one before.
    func testAdmittingWaitingRequestsNeverNests() throws {
        var limits = HTTPLimits()
        limits.maxRequestsInProgress = 1
        limits.admissionTimeoutMs = 10_000
        let probe = Probe()
        let port = try start(limits, probe)
        let holder = try RawHTTPClient(port: port)
        try holder.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertTrue(eventually { probe.handled == 1 })
        let waiting = try (0..<50).map { _ in try RawHTTPClient(port: port) }
        for client in waiting {
            try client.send("GET /now HTTP/1.1\r\nHost: t\r\n\r\nGET /now HTTP/1.1\r\nHost: t\r\n\r\n")
        }
        XCTAssertEqual(holder.readResponse()?.bodyText, "held")
        for client in waiting {
            XCTAssertEqual(client.readResponse()?.bodyText, "now")
            XCTAssertEqual(client.readResponse()?.bodyText, "now")
        }
        XCTAssertEqual(probe.handled, 1 + 2 * waiting.count)
        XCTAssertEqual(probe.violations, [])
    }
}
