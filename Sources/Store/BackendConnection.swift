internal import RESP
internal import EventLoop

/// One pipelined connection to a store node: commands are written as they come (the
/// socket's output is flushed once per loop turn, so a turn's commands leave in one
/// write) and their completions wait in the awaiting-reply FIFO; each reply completes
/// the head. Abandoned (timed-out) heads stay until their reply arrives and is dropped.
///
/// ```
///  Node ─send─▶ [awaiting FIFO: c1 c2(abandoned) c3 …] ─▶ socket ─▶ store
///  reply ◀─ RESPDecoder ◀─ socket: complete c1; drop c2's reply; complete c3 …
/// ```
/// States: `connecting` → `handshaking` (AUTH, SELECT, CLIENT SETNAME pipelined; their
/// replies are checked before any user reply) → `ready` → `closed`.
final class BackendConnection: SocketStreamDelegate, DeadlineTarget {
    enum State { case connecting, handshaking, ready, closed }

    private(set) var state = State.connecting
    private let stream: SocketStream
    private unowned let node: Node
    private var awaiting: [StoreCommand] = []
    private var awaitingHead = 0
    private var decoder: RESPDecoder
    private var handshakeReplies = 0
    private(set) var abandonedSinceLastReply = 0
    var deadlineHeapIndex = -1
    /// The stream's delegate reference is unowned: stay alive until its close callback.
    private var keepAliveUntilClosed: BackendConnection?

    init(node: Node, loop: Loop) {
        self.node = node
        decoder = RESPDecoder(limits: node.limits.replyLimits)
        let kind: SocketStream.Kind = if case .unix = node.address { .pipe } else { .tcp }
        stream = SocketStream(loop: loop, kind: kind)
        stream.delegate = self
    }

    /// Commands on the wire, abandoned ones included: the pipeline depth.
    var depth: Int { awaiting.count - awaitingHead }
    var isReady: Bool { state == .ready }

    func connect() {
        node.loop.deadlines.schedule(self, afterMs: node.limits.connectTimeoutMs)
        do {
            try stream.connect(to: node.address)
        } catch {
            fail(StoreError(.nodeDown, "cannot connect to \(node.address): \(error)"), duringConnect: true)
        }
    }

    func streamDidConnect(_ stream: SocketStream, error: EventLoopError?) {
        if let error {
            return fail(StoreError(.nodeDown, "cannot connect to \(node.address): \(error)"), duringConnect: true)
        }
        if case .tcp = stream.kind { stream.setNoDelay(true) }
        state = .handshaking
        stream.startReading()
        var handshake: [[String]] = []
        if let password = node.credentials.password {
            handshake.append(["AUTH"] + (node.credentials.user.map { [$0] } ?? []) + [password])
        }
        if node.credentials.database != 0 { handshake.append(["SELECT", String(node.credentials.database)]) }
        handshake.append(["CLIENT", "SETNAME", node.limits.clientName])
        if node.readOnly { handshake.append(["READONLY"]) }
        handshakeReplies = handshake.count
        stream.write { out in
            for command in handshake { RESPEncoder.appendCommand(command, to: &out) }
        }
    }

    /// Writes `command` and appends it to the FIFO. Only for a ready connection.
    func send(_ command: StoreCommand) {
        command.state = .sent
        command.connection = self
        awaiting.append(command)
        stream.write(command.encoded)
    }

    func streamDidRead(_ stream: SocketStream, bytes: UnsafeRawBufferPointer) {
        decoder.feed(bytes)
        while state != .closed {
            let reply: RESPValue?
            do {
                reply = try decoder.next()
            } catch {
                return fail(StoreError(.protocolError, "bad reply from \(node.address): \(error)"))
            }
            guard let reply else { break }
            if handshakeReplies > 0 {
                didReceiveHandshakeReply(reply)
            } else {
                didReceiveReply(reply)
            }
        }
    }

    private func didReceiveHandshakeReply(_ reply: RESPValue) {
        handshakeReplies -= 1
        if case .error(let message) = reply {
            let kind: StoreError.Kind =
                message.hasPrefix("WRONGPASS") || message.hasPrefix("NOAUTH") || message.contains("AUTH")
                ? .authenticationFailed : .protocolError
            return fail(StoreError(kind, "\(node.address) refused the handshake: \(message)"), duringConnect: true)
        }
        if handshakeReplies == 0 {
            state = .ready
            node.loop.deadlines.cancel(self)
            node.connectionDidBecomeReady(self)
        }
    }

    private func didReceiveReply(_ reply: RESPValue) {
        guard awaitingHead < awaiting.count else {
            return fail(StoreError(.protocolError, "\(node.address) sent a reply nobody asked for"))
        }
        let command = awaiting[awaitingHead]
        if command.repliesToSkip > 0 {
            command.repliesToSkip -= 1
            if case .error(let message) = reply, command.skippedError == nil { command.skippedError = message }
            return
        }
        awaitingHead += 1
        if awaitingHead == awaiting.count {
            awaiting.removeAll(keepingCapacity: awaiting.count <= 256)
            awaitingHead = 0
        } else if awaitingHead >= 1024, awaitingHead * 2 >= awaiting.count {
            awaiting.removeFirst(awaitingHead)
            awaitingHead = 0
        }
        if command.isLive {
            abandonedSinceLastReply = 0
            node.commandDidComplete(command)
            command.finish(.success(command.skippedError.map(RESPValue.error) ?? reply))
        }
        node.connectionDidFreeCapacity(self)
    }

    /// A command on this connection timed out; it stays in the FIFO, abandoned.
    func didAbandonCommand() {
        abandonedSinceLastReply += 1
    }

    // MARK: failure and close

    func deadlineDidExpire() {
        fail(StoreError(.nodeDown, "connecting to \(node.address) timed out"), duringConnect: true)
    }

    func streamDidEnd(_ stream: SocketStream, error: EventLoopError?) {
        fail(StoreError(.connectionLost(outcomeUnknown: true), "\(node.address) closed the connection"))
    }

    func streamDidFailWrite(_ stream: SocketStream, error: EventLoopError) {
        fail(StoreError(.connectionLost(outcomeUnknown: true), "writing to \(node.address) failed: \(error)"))
    }

    /// Closes the connection and fails every live command on it.
    func fail(_ error: StoreError, duringConnect: Bool = false) {
        guard state != .closed else { return }
        let wasReady = state == .ready
        close()
        node.connectionDidFail(self, error: error, wasReady: wasReady && !duringConnect)
        let lost = awaiting[awaitingHead...]
        awaiting = []
        awaitingHead = 0
        for command in lost where command.isLive {
            node.commandDidComplete(command)
            let outcomeUnknown = !command.isIdempotent
            let failure: StoreError =
                switch error.kind {
                case .connectionLost, .protocolError:
                    StoreError(.connectionLost(outcomeUnknown: outcomeUnknown), error.message)
                default: error
                }
            command.finish(.failure(failure))
        }
    }

    func close() {
        guard state != .closed else { return }
        state = .closed
        keepAliveUntilClosed = self
        node.loop.deadlines.cancel(self)
        stream.close()
    }

    func streamDidClose(_ stream: SocketStream) {
        keepAliveUntilClosed = nil
    }
}
