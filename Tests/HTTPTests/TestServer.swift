import EventLoop
import Foundation
import HTTP
import TestSupport

/// Counts requests the handler executed, readable from the test thread.
final class ExecutionLog: @unchecked Sendable {
    private let lock = NSLock()
    private var targets: [String] = []

    func record(_ target: String) {
        lock.lock()
        targets.append(target)
        lock.unlock()
    }

    var executed: [String] {
        lock.lock()
        defer { lock.unlock() }
        return targets
    }
}

/// An in-process HTTPServer on a loop thread with test routes:
/// `/echo` (method, target and body back), `/delay/MS` (answers after MS ms),
/// `/stream` (three chunks on later loop turns), `/big/N` (N-byte body), `/lent/MS`
/// (answers after MS ms with a lent body, `respond(…lentBody:)`); any other
/// path answers 200 with the path. Every request is recorded in `log`.
final class TestServer {
    let log = ExecutionLog()
    let thread: LoopThread
    var drainHook: (@Sendable () -> Void)?

    init(limits: HTTPLimits = HTTPLimits()) throws {
        let log = self.log
        thread = try LoopThread { loop in
            let server = HTTPServer(loop: loop, limits: limits) { request, responder in
                log.record(String(request.path))
                TestServer.route(request, responder, loop: loop)
            }
            let port = try server.listen(on: .inet(host: "127.0.0.1", port: 0))
            let drainWakeup = LoopWakeup(loop: loop) { server.drain(graceMs: 2_000) {} }
            TestServer.registry.set(port, drainWakeup)
            return (
                port,
                {
                    drainWakeup.close()
                    server.close()
                }
            )
        }
    }

    var port: UInt16 { thread.port }

    func connect(timeout: Double = 5) throws -> RawHTTPClient {
        try RawHTTPClient(port: port, timeout: timeout * timeoutMultiplier)
    }

    /// Starts a graceful drain on the loop thread.
    func drain() { TestServer.registry.get(port)?.wake() }

    func stop() -> Int {
        thread.stop()
        return thread.leakedHandles
    }

    static func route(_ request: HTTPRequest, _ responder: HTTPResponder, loop: Loop) {
        let parts = request.path.split(separator: "/")
        switch parts.first {
        case "echo":
            let text = "\(request.method) \(request.target) \(String(decoding: request.body, as: UTF8.self))"
            responder.respond(HTTPResponse(status: 200, contentType: "text/plain", body: text))
        case "delay":
            let ms = parts.count > 1 ? UInt64(parts[1]) ?? 0 : 0
            let timer = EventLoop.Timer(loop: loop)
            timer.start(afterMs: ms) {
                responder.respond(HTTPResponse(status: 200, contentType: "text/plain", body: String(request.path)))
                timer.close()
            }
        case "stream":
            responder.beginStreaming(status: 200, headers: HTTPHeaders([("Content-Type", "text/plain")]))
            loop.runSoon {
                responder.writeChunk(Array("one,".utf8))
                loop.runSoon {
                    responder.writeChunk(Array("two,".utf8))
                    loop.runSoon {
                        responder.writeChunk(Array("three".utf8))
                        responder.end()
                    }
                }
            }
        case "lent":
            // Answers after MS ms with a body lent for the call (and an entity tag).
            let ms = parts.count > 1 ? UInt64(parts[1]) ?? 0 : 0
            let timer = EventLoop.Timer(loop: loop)
            timer.start(afterMs: ms) {
                let body = Array("lent \(request.target)".utf8)
                body.withUnsafeBufferPointer { bytes in
                    responder.respond(
                        status: 200, headers: HTTPHeaders([("Content-Type", "text/plain")]), entityTag: 7,
                        lentBody: bytes)
                }
                timer.close()
            }
        case "big":
            let size = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            responder.respond(HTTPResponse(status: 200, body: [UInt8](repeating: UInt8(ascii: "x"), count: size)))
        default:
            responder.respond(HTTPResponse(status: 200, contentType: "text/plain", body: String(request.path)))
        }
    }

    /// Drain wake-ups by port (they are created on the loop thread).
    final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var wakeups: [UInt16: LoopWakeup] = [:]
        func set(_ port: UInt16, _ wakeup: LoopWakeup) {
            lock.lock()
            wakeups[port] = wakeup
            lock.unlock()
        }
        func get(_ port: UInt16) -> LoopWakeup? {
            lock.lock()
            defer { lock.unlock() }
            return wakeups[port]
        }
    }
    static let registry = Registry()
}
