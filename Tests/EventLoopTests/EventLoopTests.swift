import EventLoop
import XCTest

private final class Recorder: DeadlineTarget {
    var deadlineHeapIndex = -1
    let name: String
    let log: Log
    init(_ name: String, _ log: Log) {
        self.name = name
        self.log = log
    }
    func deadlineDidExpire() { log.events.append(name) }
}

private final class Log { var events: [String] = [] }

/// Echo-less sink: accepts connections and counts bytes and reads.
private final class Sink: TCPListenerDelegate, SocketStreamDelegate {
    var streams: [SocketStream] = []
    var received: [UInt8] = []
    var reads = 0
    var ended = false
    func listenerDidAccept(_ listener: TCPListener, stream: SocketStream) {
        stream.delegate = self
        stream.startReading()
        streams.append(stream)
    }
    func listenerDidFail(_ listener: TCPListener, error: EventLoopError) {}
    func streamDidRead(_ stream: SocketStream, bytes: UnsafeRawBufferPointer) {
        reads += 1
        received.append(contentsOf: bytes)
    }
    func streamDidEnd(_ stream: SocketStream, error: EventLoopError?) {
        ended = true
        stream.close()
    }
}

private final class Client: SocketStreamDelegate {
    var connected = false
    var flushes = 0
    func streamDidConnect(_ stream: SocketStream, error: EventLoopError?) { connected = error == nil }
    func streamDidFlush(_ stream: SocketStream) { flushes += 1 }
}

final class EventLoopTests: XCTestCase {
    func testDeadlinesFireInOrderAndCancelledOnesNever() throws {
        let loop = try Loop()
        let log = Log()
        let a = Recorder("a", log)
        let b = Recorder("b", log)
        let c = Recorder("c", log)
        let d = Recorder("d", log)
        loop.deadlines.schedule(c, afterMs: 30)
        loop.deadlines.schedule(a, afterMs: 10)
        loop.deadlines.schedule(b, afterMs: 20)
        loop.deadlines.schedule(d, afterMs: 15)
        loop.deadlines.cancel(d)
        loop.deadlines.schedule(b, afterMs: 5)  // moved earlier
        XCTAssertEqual(loop.deadlines.count, 3)
        while loop.deadlines.count > 0 { loop.runOnce() }
        XCTAssertEqual(log.events, ["b", "a", "c"])
        XCTAssertEqual(d.deadlineHeapIndex, -1)
        XCTAssertEqual(loop.close(), 0)
    }

    func testManyDeadlinesStayOrdered() throws {
        let loop = try Loop()
        let log = Log()
        var generator = SystemRandomNumberGenerator()
        let targets = (0..<500).map { Recorder(String($0), log) }
        var expected: [(UInt64, String)] = []
        for target in targets {
            let delay = UInt64.random(in: 1...40, using: &generator)
            loop.deadlines.schedule(target, afterMs: delay)
            expected.append((delay, target.name))
        }
        for target in targets.prefix(100) { loop.deadlines.cancel(target) }
        while loop.deadlines.count > 0 { loop.runOnce() }
        XCTAssertEqual(Set(log.events), Set(expected.dropFirst(100).map(\.1)))
        XCTAssertEqual(log.events.count, 400)
        XCTAssertEqual(loop.close(), 0)
    }

    /// Deadlines scheduled in order (two lanes) mixed with earlier ones (the heap),
    /// cancelled out of order and moved: they still fire in deadline order, each once.
    func testInOrderAndOutOfOrderDeadlinesFireInDeadlineOrder() throws {
        let loop = try Loop()
        let log = Log()
        let targets = (0..<200).map { Recorder(String($0), log) }
        var expected: [String: UInt64] = [:]
        let base = loop.nowMs + 5
        for (index, target) in targets.enumerated() {
            // Two rising series interleaved (two kinds of timeout), and every seventh
            // deadline earlier than the rest.
            let at: UInt64 =
                switch index % 7 {
                case 6: base + UInt64(index / 2)
                case 2, 4: base + 250 + UInt64(index)
                default: base + UInt64(index)
                }
            loop.deadlines.schedule(target, atMs: at)
            expected[target.name] = at
            XCTAssertEqual(loop.deadlines.scheduledAtMs(of: target), at)
        }
        for target in targets where Int(target.name)! % 5 == 0 {
            loop.deadlines.cancel(target)
            XCTAssertEqual(target.deadlineHeapIndex, -1)
            XCTAssertNil(loop.deadlines.scheduledAtMs(of: target))
            expected[target.name] = nil
        }
        loop.deadlines.schedule(targets[1], atMs: base + 300)  // moved later
        expected["1"] = base + 300
        loop.deadlines.schedule(targets[199], atMs: base + 2)  // moved earlier
        expected["199"] = base + 2
        XCTAssertEqual(loop.deadlines.count, expected.count)
        while loop.deadlines.count > 0 { loop.runOnce() }
        XCTAssertEqual(log.events.count, expected.count)
        XCTAssertEqual(Set(log.events), Set(expected.keys))
        let firedAt = log.events.map { expected[$0]! }
        XCTAssertEqual(firedAt, firedAt.sorted())
        XCTAssertEqual(loop.close(), 0)
    }

    func testRunSoonNeverRunsInsideTheCaller() throws {
        let loop = try Loop()
        var order: [String] = []
        loop.runSoon {
            order.append("first")
            loop.runSoon { order.append("nested") }
            order.append("first-end")
        }
        order.append("caller")
        let timer = Timer(loop: loop)
        timer.start(afterMs: 5) { timer.close() }
        loop.run()
        XCTAssertEqual(order, ["caller", "first", "first-end", "nested"])
        XCTAssertEqual(loop.close(), 0)
    }

    func testWritesOfOneTurnLeaveInOneSystemCallAndNothingLeaks() throws {
        let loop = try Loop()
        let sink = Sink()
        let listener = try TCPListener(loop: loop, address: .inet(host: "127.0.0.1", port: 0))
        listener.delegate = sink
        let client = Client()
        let stream = SocketStream(loop: loop, kind: .tcp)
        stream.delegate = client
        try stream.connect(to: .inet(host: "127.0.0.1", port: listener.port))
        while !client.connected { loop.runOnce() }
        for index in 0..<100 { stream.write(Array("message \(index);".utf8)) }
        XCTAssertEqual(stream.writeCalls, 0, "nothing is written inside the caller")
        let expected = (0..<100).map { "message \($0);" }.joined()
        while sink.received.count < expected.utf8.count { loop.runOnce() }
        XCTAssertEqual(stream.writeCalls, 1, "100 writes in one turn, one system call")
        XCTAssertEqual(client.flushes, 1)
        XCTAssertEqual(String(decoding: sink.received, as: UTF8.self), expected)
        stream.close()
        while !sink.ended { loop.runOnce() }
        listener.close()
        XCTAssertEqual(loop.liveHandleCount, 0)
        XCTAssertEqual(loop.close(), 0)
    }

    /// A turn that runs past a deadline (a loaded host) must not time out what already
    /// arrived: the bytes waiting in the socket are read, and settle the deadline, before
    /// deadlines are judged.
    func testBytesThatArrivedBeforeALateTurnAreReadBeforeDeadlinesAreJudged() throws {
        final class Settler: TCPListenerDelegate, SocketStreamDelegate {
            var streams: [SocketStream] = []
            var waiting: Recorder?
            let log: Log
            let loop: Loop
            init(log: Log, loop: Loop) {
                self.log = log
                self.loop = loop
            }
            func listenerDidAccept(_ listener: TCPListener, stream: SocketStream) {
                stream.delegate = self
                stream.startReading()
                streams.append(stream)
            }
            func listenerDidFail(_ listener: TCPListener, error: EventLoopError) {}
            func streamDidRead(_ stream: SocketStream, bytes: UnsafeRawBufferPointer) {
                log.events.append("read")
                if let waiting { loop.deadlines.cancel(waiting) }
            }
            func streamDidEnd(_ stream: SocketStream, error: EventLoopError?) { stream.close() }
        }
        let loop = try Loop()
        let log = Log()
        let settler = Settler(log: log, loop: loop)
        let listener = try TCPListener(loop: loop, address: .inet(host: "127.0.0.1", port: 0))
        listener.delegate = settler
        let peer = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = listener.port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(peer, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(connected, 0)
        while settler.streams.isEmpty { loop.runOnce() }

        let reply = Recorder("deadline", log)
        settler.waiting = reply
        loop.deadlines.schedule(reply, afterMs: 20)
        XCTAssertEqual(send(peer, "reply", 5, 0), 5)
        usleep(60_000)  // the loop is busy elsewhere past the deadline; the reply is in the buffer
        while log.events.isEmpty { loop.runOnce() }
        for _ in 0..<3 { loop.runOnce(wait: false) }
        XCTAssertEqual(log.events, ["read"], "the waiting reply settles first; the deadline never fires")

        close(peer)
        while !settler.streams.allSatisfy(\.isClosed) { loop.runOnce() }
        listener.close()
        XCTAssertEqual(loop.close(), 0)
    }

    func testScheduledTimeIsReadFromTheHeap() throws {
        let loop = try Loop()
        let log = Log()
        let a = Recorder("a", log)
        let b = Recorder("b", log)
        let now = loop.nowMs
        XCTAssertNil(loop.deadlines.scheduledAtMs(of: a))
        loop.deadlines.schedule(a, atMs: now + 50)
        loop.deadlines.schedule(b, atMs: now + 20)
        XCTAssertEqual(loop.deadlines.scheduledAtMs(of: a), now + 50)
        loop.deadlines.schedule(a, atMs: now + 10)
        XCTAssertEqual(loop.deadlines.scheduledAtMs(of: a), now + 10)
        XCTAssertEqual(loop.deadlines.scheduledAtMs(of: b), now + 20)
        loop.deadlines.cancel(a)
        XCTAssertNil(loop.deadlines.scheduledAtMs(of: a))
        while loop.deadlines.count > 0 { loop.runOnce() }
        XCTAssertNil(loop.deadlines.scheduledAtMs(of: b), "a fired entry is gone")
        XCTAssertEqual(log.events, ["b"])
        XCTAssertEqual(loop.close(), 0)
    }

    /// A listener's delegate may supply the stream (a subclass) each connection is accepted into.
    func testConnectionsAreAcceptedIntoTheStreamTheDelegateSupplies() throws {
        final class TaggedStream: SocketStream {
            let tag: Int
            init(loop: Loop, tag: Int) {
                self.tag = tag
                super.init(loop: loop, kind: .tcp)
            }
        }
        final class Supplier: TCPListenerDelegate, SocketStreamDelegate {
            var accepted: [TaggedStream] = []
            var received: [UInt8] = []
            var made = 0
            func listenerStreamForNextConnection(_ listener: TCPListener, loop: Loop) -> SocketStream {
                made += 1
                return TaggedStream(loop: loop, tag: made)
            }
            func listenerDidAccept(_ listener: TCPListener, stream: SocketStream) {
                guard let tagged = stream as? TaggedStream else { return stream.close() }
                tagged.delegate = self
                tagged.startReading()
                accepted.append(tagged)
            }
            func listenerDidFail(_ listener: TCPListener, error: EventLoopError) {}
            func streamDidRead(_ stream: SocketStream, bytes: UnsafeRawBufferPointer) { received += bytes }
        }
        let loop = try Loop()
        let supplier = Supplier()
        let listener = try TCPListener(loop: loop, address: .inet(host: "127.0.0.1", port: 0))
        listener.delegate = supplier
        let client = Client()
        let stream = SocketStream(loop: loop, kind: .tcp)
        stream.delegate = client
        try stream.connect(to: .inet(host: "127.0.0.1", port: listener.port))
        while !client.connected || supplier.accepted.isEmpty { loop.runOnce() }
        stream.write(Array("hello".utf8))
        while supplier.received.count < 5 { loop.runOnce() }
        XCTAssertEqual(supplier.accepted.map(\.tag), [1])
        XCTAssertEqual(String(decoding: supplier.received, as: UTF8.self), "hello")
        stream.close()
        for accepted in supplier.accepted { accepted.close() }
        listener.close()
        XCTAssertEqual(loop.close(), 0)
    }

    func testCloseReportsHandlesLeftOpen() throws {
        let loop = try Loop()
        let forgotten = Timer(loop: loop)
        forgotten.start(afterMs: 1000) {}
        XCTAssertEqual(loop.liveHandleCount, 1)
        XCTAssertEqual(loop.close(), 1)
    }

    func testConnectFailureIsReported() throws {
        let loop = try Loop()
        final class Failure: SocketStreamDelegate {
            var error: EventLoopError?
            func streamDidConnect(_ stream: SocketStream, error: EventLoopError?) { self.error = error }
        }
        let failure = Failure()
        let stream = SocketStream(loop: loop, kind: .tcp)
        stream.delegate = failure
        try stream.connect(to: .inet(host: "127.0.0.1", port: 1))
        while failure.error == nil { loop.runOnce() }
        XCTAssertEqual(failure.error?.code, EventLoopError.connectionRefused)
        stream.close()
        XCTAssertEqual(loop.close(), 0)
    }

    func testAddressParsing() {
        XCTAssertEqual(SocketAddress(parsing: "127.0.0.1:8080"), .inet(host: "127.0.0.1", port: 8080))
        XCTAssertEqual(SocketAddress(parsing: "[::1]:6379"), .inet(host: "::1", port: 6379))
        XCTAssertEqual(SocketAddress(parsing: "unix:///tmp/redis.sock"), .unix(path: "/tmp/redis.sock"))
        XCTAssertNil(SocketAddress(parsing: "localhost"))
        XCTAssertNil(SocketAddress(parsing: "host:99999"))
        XCTAssertNil(SocketAddress(parsing: "unix://relative"))
        XCTAssertEqual(SocketAddress.inet(host: "::1", port: 1).description, "[::1]:1")
    }

    /// Found by the ASan run (scripts/asan.sh): the deadline queue held its loop strongly,
    /// so no loop was ever freed; LeakSanitizer reported every gateway process at exit.
    func testALoopIsFreedOnceItsLastReferenceGoes() throws {
        weak var weakLoop: Loop?
        try {
            let loop = try Loop()
            loop.deadlines.schedule(NeverFires(), afterMs: 60_000)
            weakLoop = loop
            XCTAssertEqual(loop.close(), 0)
        }()
        XCTAssertNil(weakLoop)
    }
}

private final class NeverFires: DeadlineTarget {
    var deadlineHeapIndex = -1
    func deadlineDidExpire() { XCTFail("fired") }
}
