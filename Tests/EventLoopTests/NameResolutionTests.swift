import EventLoop
import XCTest

/// Host names resolved off the loop thread: the completion comes on a later turn, a
/// cancelled lookup never completes, and the address connects.
final class NameResolutionTests: XCTestCase {
    private final class Connected: SocketStreamDelegate {
        var result: EventLoopError??
        func streamDidConnect(_ stream: SocketStream, error: EventLoopError?) { result = .some(error) }
    }

    private final class Accepted: TCPListenerDelegate {
        var streams: [SocketStream] = []
        func listenerDidAccept(_ listener: TCPListener, stream: SocketStream) { streams.append(stream) }
        func listenerDidFail(_ listener: TCPListener, error: EventLoopError) {}
    }

    func testANameResolvesOnALaterTurnAndItsAddressConnects() throws {
        let loop = try Loop()
        let accepted = Accepted()
        let listener = try TCPListener(loop: loop, address: .inet(host: "127.0.0.1", port: 0))
        listener.delegate = accepted
        var resolved: Result<ResolvedAddress, EventLoopError>?
        let resolution = NameResolution.start(on: loop, host: "localhost", port: listener.port) { resolved = $0 }
        XCTAssertNil(resolved, "the completion never runs inside start")
        while resolved == nil { loop.runOnce() }
        withExtendedLifetime(resolution) {}
        let address = try XCTUnwrap(try? resolved?.get(), "\(String(describing: resolved))")

        let connected = Connected()
        let stream = SocketStream(loop: loop, kind: .tcp)
        stream.delegate = connected
        try stream.connect(to: address)
        while connected.result == nil || accepted.streams.isEmpty { loop.runOnce() }
        XCTAssertEqual(connected.result, .some(nil), "localhost:\(listener.port) accepted the connection")
        stream.close()
        for accepted in accepted.streams { accepted.close() }
        listener.close()
        XCTAssertEqual(loop.close(), 0)
    }

    func testACancelledResolutionNeverCompletes() throws {
        let loop = try Loop()
        var completions = 0
        let cancelled = NameResolution.start(on: loop, host: "localhost", port: 1) { _ in completions += 1 }
        cancelled.cancel()
        var other: Result<ResolvedAddress, EventLoopError>?
        let later = NameResolution.start(on: loop, host: "localhost", port: 1) { other = $0 }
        while other == nil { loop.runOnce() }
        // The cancelled lookup may have been under way on another resolver thread:
        // give its callback half a second of turns to come back.
        let until = Date().addingTimeInterval(0.5)
        while Date() < until {
            loop.runOnce(wait: false)
            usleep(1000)
        }
        withExtendedLifetime(later) {}
        XCTAssertEqual(completions, 0)
        XCTAssertEqual(loop.close(), 0)
    }

    func testLiteralAddressesNeedNoResolution() {
        XCTAssertFalse(SocketAddress.inet(host: "127.0.0.1", port: 1).needsResolution)
        XCTAssertFalse(SocketAddress.inet(host: "::1", port: 1).needsResolution)
        XCTAssertFalse(SocketAddress.unix(path: "/tmp/s").needsResolution)
        XCTAssertTrue(SocketAddress.inet(host: "localhost", port: 1).needsResolution)
        XCTAssertTrue(SocketAddress.inet(host: "redis.internal", port: 1).needsResolution)
    }
}
