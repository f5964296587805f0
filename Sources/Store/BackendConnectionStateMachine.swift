internal import EventLoop
internal import RESP

/// A pipelined backend connection without its socket: the state and the awaiting-reply
/// FIFO. Each event method returns the one action the owning `BackendConnection` carries
/// out (write, start reading, cancel the connect deadline, settle or fail commands,
/// close), so every transition is table-testable.
///
/// ```
///  connecting ─didConnect─▶ [securing: TLS handshake] ─didSecure─▶ handshaking(n replies left)
///       │                        │ TLS failure                              │ last OK reply
///       │                        │                 error reply / deadline   ▼
///       └── connect failed / deadline ──┴──────────────┴──────▶ closed ◀── ready: EOF, write or
///                                                                          decode error, stuck, close
/// ```
/// The FIFO holds one entry per expected reply: a command, a reply to skip (an ASKING
/// sent in front of its command), or a reply its command draws before its own (MULTI
/// and the commands it queues, ahead of EXEC), or WAIT's reply behind a write that waits
/// for replicas (the write's own reply is held until it). A timed-out command stays in it (its node
/// settled it), so its late reply is dropped and later replies still match.
struct BackendConnectionStateMachine {
    enum State: Equatable {
        case connecting
        /// The TLS handshake; the store's handshake (n commands) follows.
        case securing(handshakeCommands: Int)
        case handshaking(repliesLeft: Int)
        case ready
        case closed
    }

    enum Entry {
        case skip
        /// A reply drawn before the command's own (MULTI and what it queues); an error
        /// among them is kept for the command.
        case leading(StoreCommand)
        case command(StoreCommand)
        /// WAIT's reply, behind the command's own (a write that waits for replicas).
        case replicaWait(StoreCommand)
    }

    /// Why the connection closes and what was still on it.
    struct Failure {
        let error: StoreError
        /// Live commands that were on the wire, oldest first.
        let lost: [StoreCommand]
        /// It had been ready (a drop after a working period, not a failed connect).
        let wasReady: Bool
    }

    enum Action {
        case none
        /// Connected over TLS: start reading and send the ClientHello.
        case startTLS
        /// Connected (and secured): start reading and write the handshake commands.
        case startHandshake
        /// The handshake succeeded: cancel the connect deadline; commands may be sent.
        case becomeReady
        /// The head's reply: settle `command` with it.
        case complete(StoreCommand, RESPValue)
        /// The head's replies end it with an error (too few replicas confirmed a write).
        case fail(StoreCommand, StoreError)
        /// The reply of an abandoned command (or of an ASKING) was read and dropped.
        case dropReply
        /// Close the socket and fail `lost`.
        case close(Failure)
    }

    let address: SocketAddress
    let maxConsecutiveTimeouts: Int
    private(set) var state = State.connecting
    private var awaiting = FIFO<Entry>()
    /// Commands on the wire, abandoned ones included: the pipeline depth.
    private(set) var depth = 0
    /// Commands abandoned (timed out) since the last reply to a live command.
    private(set) var abandonedSinceLastReply = 0
    /// Commands on the wire with a WAIT behind them.
    private(set) var waitsInFlight = 0

    init(address: SocketAddress, maxConsecutiveTimeouts: Int) {
        self.address = address
        self.maxConsecutiveTimeouts = maxConsecutiveTimeouts
    }

    var isReady: Bool { state == .ready }

    /// The next reply is a command's own and that command wants an array reply kept encoded.
    var nextReplyKeepsArrayEncoded: Bool {
        if case .command(let command)? = awaiting.first { return command.keepsArrayReplyEncoded }
        return false
    }
    var isClosed: Bool { state == .closed }

    // MARK: connecting

    mutating func didConnect(handshakeCommands: Int, secure: Bool = false) -> Action {
        guard state == .connecting else { return .none }
        precondition(handshakeCommands > 0, "the handshake always has CLIENT SETNAME")
        if secure {
            state = .securing(handshakeCommands: handshakeCommands)
            return .startTLS
        }
        state = .handshaking(repliesLeft: handshakeCommands)
        return .startHandshake
    }

    /// The TLS handshake completed.
    mutating func didSecure() -> Action {
        guard case .securing(let commands) = state else { return .none }
        state = .handshaking(repliesLeft: commands)
        return .startHandshake
    }

    /// The TLS handshake or a record failed; a rejected certificate keeps its own kind
    /// (start-up stops on it), anything else is a node that cannot be reached.
    mutating func didFailTLS(_ reason: String, certificateRejected: Bool) -> Action {
        switch state {
        case .connecting, .securing:
            close(StoreError(certificateRejected ? .certificateRejected : .nodeDown, "TLS to \(address): \(reason)"))
        case .handshaking, .ready:
            close(StoreError(.connectionLost(outcomeUnknown: true), "TLS to \(address): \(reason)"))
        case .closed:
            .none
        }
    }

    mutating func didFailConnect(_ reason: String) -> Action {
        close(StoreError(.nodeDown, "cannot connect to \(address): \(reason)"))
    }

    /// The connect deadline passed: only a connection not yet ready cares.
    mutating func connectDeadlineDidExpire() -> Action {
        switch state {
        case .connecting, .securing, .handshaking:
            close(StoreError(.nodeDown, "connecting to \(address) timed out"))
        case .ready, .closed: .none
        }
    }

    // MARK: commands and replies

    /// Appends `command` to the FIFO (behind the replies it skips); the owner writes it.
    mutating func send(_ command: StoreCommand) {
        precondition(state == .ready, "commands go to ready connections only")
        if command.sendsAsking { awaiting.append(.skip) }
        for _ in 0..<command.leadingReplies { awaiting.append(.leading(command)) }
        awaiting.append(.command(command))
        if command.replicaWait != nil {
            awaiting.append(.replicaWait(command))
            waitsInFlight += 1
        }
        depth += 1
    }

    mutating func didReceive(_ reply: RESPValue) -> Action {
        switch state {
        case .connecting, .securing:
            return close(StoreError(.protocolError, "\(address) sent a reply before the handshake"))
        case .handshaking(let left):
            if case .error(let message) = reply {
                let kind: StoreError.Kind =
                    message.hasPrefix("WRONGPASS") || message.hasPrefix("NOAUTH") || message.contains("AUTH")
                    ? .authenticationFailed : .protocolError
                return close(StoreError(kind, "\(address) refused the handshake: \(message)"))
            }
            guard left == 1 else {
                state = .handshaking(repliesLeft: left - 1)
                return .none
            }
            state = .ready
            return .becomeReady
        case .ready:
            switch awaiting.popFirst() {
            case nil:
                return close(StoreError(.protocolError, "\(address) sent a reply nobody asked for"))
            case .skip:
                return .none
            case .leading(let command):
                if case .error(let message) = reply, command.leadingError == nil { command.leadingError = message }
                return .none
            case .command(let command):
                if command.replicaWait != nil {
                    command.ownReply = reply
                    return .none
                }
                depth -= 1
                guard command.isLive else { return .dropReply }
                abandonedSinceLastReply = 0
                return .complete(command, command.leadingError.map(RESPValue.error) ?? reply)
            case .replicaWait(let command):
                depth -= 1
                waitsInFlight -= 1
                let ownReply = command.ownReply
                command.ownReply = nil
                guard command.isLive, let wait = command.replicaWait else { return .dropReply }
                abandonedSinceLastReply = 0
                if let leadingError = command.leadingError { return .complete(command, .error(leadingError)) }
                switch wait.outcome(ownReply: ownReply, waitReply: reply, address: address) {
                case .success(let value): return .complete(command, value)
                case .failure(let error): return .fail(command, error)
                }
            }
        case .closed:
            return .none
        }
    }

    /// A command on this connection timed out (it stays in the FIFO). After
    /// `maxConsecutiveTimeouts` in a row the connection is stuck: close it.
    mutating func didAbandonCommand() -> Action {
        abandonedSinceLastReply += 1
        guard state == .ready, abandonedSinceLastReply >= maxConsecutiveTimeouts else { return .none }
        return close(StoreError(.connectionLost(outcomeUnknown: true), "\(address) stopped replying"))
    }

    // MARK: failure and close

    /// EOF, a failed write, undecodable bytes, a handshake refusal or the owner closing.
    mutating func close(_ error: StoreError) -> Action {
        guard state != .closed else { return .none }
        let wasReady = state == .ready
        state = .closed
        depth = 0
        waitsInFlight = 0
        var lost: [StoreCommand] = []
        for entry in awaiting.removeAll() {
            switch entry {
            case .command(let command) where command.isLive:
                lost.append(command)
            case .replicaWait(let command) where command.isLive && lost.last !== command:
                // Its own reply came, its WAIT's did not: it is on this connection still.
                lost.append(command)
            default:
                break
            }
        }
        return .close(Failure(error: error, lost: lost, wasReady: wasReady))
    }

    /// What a command on the wire fails with when its connection closes with `error`.
    static func error(for command: StoreCommand, lostWith error: StoreError) -> StoreError {
        switch error.kind {
        case .connectionLost, .protocolError:
            StoreError(.connectionLost(outcomeUnknown: !command.isIdempotent), error.message)
        default:
            error
        }
    }
}
