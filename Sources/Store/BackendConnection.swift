internal import EventLoop
internal import RESP
internal import TLS

/// One pipelined connection to a store node: the socket, the reply decoder and the
/// connect deadline. What happens on each event is decided by its
/// `BackendConnectionStateMachine`; this class only carries out the returned actions.
/// Commands are written as they come (the socket's output is flushed once per loop
/// turn, so a turn's commands leave in one write) and wait in the machine's
/// awaiting-reply FIFO; each reply settles the head.
///
/// ```
///  Node ─send─▶ [awaiting FIFO: c1 c2(abandoned) c3 …] ─▶ socket ─▶ store
///  read ─▶ RESPDecoder: every complete reply matched first (c1 settled, c2's reply
///          dropped, c3 settled …), then the node is told once that capacity freed
/// ```
/// No completion runs here: matched commands are settled, and their node delivers the
/// outcomes on a later loop turn. A connect that fails inside `uv_tcp_connect` is
/// reported on the next turn too, like one that fails in the connect callback.
///
/// Over TLS (`rediss://`) a `TLSSession` sits between the socket and the decoder: reads
/// are decrypted before they reach the decoder, and the commands written during a
/// loop turn are sealed into records once, just before that turn's flush; pipelining,
/// caps and deadlines see plaintext as before.
final class BackendConnection: SocketStreamDelegate, DeadlineTarget {
    // Changed only by the pure state machine and decoder calls: no run-time exclusivity
    // check (see Node).
    @exclusivity(unchecked) private var machine: BackendConnectionStateMachine
    private let stream: SocketStream
    private unowned let node: Node
    @exclusivity(unchecked) private var decoder: RESPDecoder
    var deadlineHeapIndex = -1
    /// The stream's delegate reference is unowned: stay alive until its close callback.
    private var keepAliveUntilClosed: BackendConnection?
    /// The store's host name being resolved, before the socket connects.
    private var resolution: NameResolution?
    /// Set on connect when the store URL is `rediss://`.
    private var tls: TLSSession?
    /// Commands written this turn over TLS, sealed together before the flush.
    private var unsealed: [UInt8] = []
    private var sealScheduled = false
    /// Decrypted bytes of one read, reused.
    private var plaintext: [UInt8] = []

    init(node: Node, loop: Loop) {
        self.node = node
        machine = BackendConnectionStateMachine(
            address: node.address, maxConsecutiveTimeouts: node.limits.maxConsecutiveTimeouts)
        decoder = RESPDecoder(limits: node.limits.replyLimits)
        let kind: SocketStream.Kind = if case .unix = node.address { .pipe } else { .tcp }
        stream = SocketStream(loop: loop, kind: kind)
        stream.delegate = self
    }

    /// Commands on the wire, abandoned ones included: the pipeline depth.
    var depth: Int { machine.depth }
    var isReady: Bool { machine.isReady }
    /// Commands on the wire with a WAIT behind them: the store runs nothing else of this
    /// connection until that WAIT returns.
    var waitsInFlight: Int { machine.waitsInFlight }

    func connect() {
        node.loop.deadlines.schedule(self, afterMs: node.limits.connectTimeoutMs)
        if let context = node.tls, case .inet(let host, _) = node.address {
            do throws(TLSError) {
                tls = try TLSSession(context: context, host: node.tlsServerName ?? host)
            } catch {
                node.loop.runSoon { [self] in perform(machine.didFailTLS(error.message, certificateRejected: false)) }
                return
            }
        }
        if node.address.needsResolution, case .inet(let host, let port) = node.address {
            resolution = NameResolution.start(on: node.loop, host: host, port: port) { [self] result in
                resolution = nil
                do throws(EventLoopError) {
                    try stream.connect(to: result.get())
                } catch {
                    perform(machine.didFailConnect("\(error)"))
                }
            }
            return
        }
        do {
            try stream.connect(to: node.address)
        } catch {
            let reason = "\(error)"
            node.loop.runSoon { [self] in perform(machine.didFailConnect(reason)) }
        }
    }

    /// Appends `command` to the FIFO and writes it. Only for a ready connection.
    func send(_ command: StoreCommand) {
        machine.send(command)
        command.state = .sent
        command.connection = self
        if command.replicaWait == nil {
            write { out in command.encode(into: &out, nowMs: 0) }
        } else {
            let nowMs = node.loop.nowMs
            write { out in command.encode(into: &out, nowMs: nowMs) }
        }
    }

    /// A command on this connection timed out; returns true when that closed the
    /// connection as stuck (its last `maxConsecutiveTimeouts` commands all timed out).
    func didAbandonCommand() -> Bool {
        let action = machine.didAbandonCommand()
        perform(action)
        if case .close = action { return true }
        return false
    }

    /// Closes the connection; the live commands on it fail with `error`.
    func close(_ error: StoreError) {
        perform(machine.close(error))
    }

    // MARK: socket events

    func streamDidConnect(_ stream: SocketStream, error: EventLoopError?) {
        if let error { return perform(machine.didFailConnect("\(error)")) }
        perform(machine.didConnect(handshakeCommands: handshake.count, secure: tls != nil))
    }

    func streamDidRead(_ stream: SocketStream, bytes: UnsafeRawBufferPointer) {
        guard let tls else { return decode(bytes) }
        plaintext.removeAll(keepingCapacity: true)
        var failure: TLSError?
        var secured = false
        stream.write { out in
            do throws(TLSError) {
                secured = try tls.receive(bytes, plaintext: &plaintext, output: &out)
            } catch {
                failure = error
            }
        }
        if let failure { return didFailTLS(failure) }
        if secured { perform(machine.didSecure()) }
        if !plaintext.isEmpty { plaintext.withUnsafeBytes { decode($0) } }
    }

    private func decode(_ bytes: UnsafeRawBufferPointer) {
        decoder.feed(bytes)
        var freedCapacity = false
        while !machine.isClosed {
            let reply: RESPValue?
            do {
                reply = try decoder.next(keepingArraysEncoded: machine.nextReplyKeepsArrayEncoded)
            } catch {
                return perform(machine.close(StoreError(.protocolError, "bad reply from \(node.address): \(error)")))
            }
            guard let reply else { break }
            let action = machine.didReceive(reply)
            switch action {
            case .complete, .fail, .dropReply: freedCapacity = true
            default: break
            }
            perform(action)
        }
        if freedCapacity, machine.isReady { node.connectionDidFreeCapacity(self) }
    }

    func deadlineDidExpire() {
        perform(machine.connectDeadlineDidExpire())
    }

    func streamDidEnd(_ stream: SocketStream, error: EventLoopError?) {
        perform(
            machine.close(StoreError(.connectionLost(outcomeUnknown: true), "\(node.address) closed the connection")))
    }

    func streamDidFailWrite(_ stream: SocketStream, error: EventLoopError) {
        perform(
            machine.close(
                StoreError(.connectionLost(outcomeUnknown: true), "writing to \(node.address) failed: \(error)")))
    }

    func streamDidClose(_ stream: SocketStream) {
        keepAliveUntilClosed = nil
    }

    // MARK: TLS

    /// Writes plaintext: straight to the socket, or over TLS into this turn's batch.
    private func write(_ body: (inout [UInt8]) -> Void) {
        guard tls != nil else { return stream.write(body) }
        body(&unsealed)
        guard !sealScheduled else { return }
        sealScheduled = true
        node.loop.runSoon { [self] in sealWritten() }
    }

    /// Seals the turn's commands into records; runs before the loop's flush.
    private func sealWritten() {
        sealScheduled = false
        defer { unsealed.removeAll(keepingCapacity: true) }
        guard let tls, !machine.isClosed, !unsealed.isEmpty else { return }
        var failure: TLSError?
        unsealed.withUnsafeBytes { bytes in
            stream.write { out in
                do throws(TLSError) {
                    try tls.seal(bytes, output: &out)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { didFailTLS(failure) }
    }

    private func didFailTLS(_ error: TLSError) {
        perform(machine.didFailTLS(error.message, certificateRejected: error.kind == .certificateRejected))
    }

    // MARK: actions

    private func perform(_ action: BackendConnectionStateMachine.Action) {
        switch action {
        case .none, .dropReply:
            break
        case .startTLS:
            stream.setNoDelay(true)
            stream.startReading()
            var failure: TLSError?
            stream.write { out in
                do throws(TLSError) {
                    try tls?.start(output: &out)
                } catch {
                    failure = error
                }
            }
            if let failure { didFailTLS(failure) }
        case .startHandshake:
            if case .tcp = stream.kind { stream.setNoDelay(true) }
            stream.startReading()
            let commands = handshake
            write { out in
                for command in commands { RESPEncoder.appendCommand(command, to: &out) }
            }
        case .becomeReady:
            node.loop.deadlines.cancel(self)
            node.connectionDidBecomeReady(self)
        case .complete(let command, let reply):
            node.settle(command, .success(reply))
        case .fail(let command, let error):
            node.settle(command, .failure(error))
        case .close(let failure):
            resolution?.cancel()
            resolution = nil
            keepAliveUntilClosed = self
            node.loop.deadlines.cancel(self)
            stream.close()
            node.connectionDidClose(self, failure)
        }
    }

    /// AUTH, SELECT, CLIENT SETNAME and READONLY as needed, pipelined; their replies are
    /// checked before any command's.
    private var handshake: [[String]] {
        var commands: [[String]] = []
        let credentials = node.credentials
        if let password = credentials.password {
            commands.append(["AUTH"] + (credentials.user.map { [$0] } ?? []) + [password])
        }
        if credentials.database != 0 { commands.append(["SELECT", String(credentials.database)]) }
        commands.append(["CLIENT", "SETNAME", node.limits.clientName])
        if node.readOnly { commands.append(["READONLY"]) }
        return commands
    }
}
