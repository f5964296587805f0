internal import EventLoop

/// One store node's admission and health without sockets or timers: its state, the
/// bounded wait queue, how many connections are open or opening, and reconnect
/// backoff. Each event method returns what the owning `Node` must do (send, queue,
/// refuse, open a connection, fail the waiting commands, arm the reconnect timer), so
/// every transition is table-testable.
///
/// ```
///  connecting ─connection ready─▶ up ─last ready connection dropped─▶ connecting
///     │  ▲                                                                 │
///     │  └──── probe connection ready ◀── down(n) ◀── connect failed, none ready
///     └──────────────────────── connect failed, none ready ──────────────▶─┘
///  any ─close─▶ closed
/// ```
/// `connecting` and `up` accept commands (they wait while no connection is ready);
/// `down` refuses them at once and tries one probe connection after a backoff of
/// `reconnectBaseMs` doubling per failure up to `reconnectMaxMs`, times a jitter in
/// 0.5…1 drawn from the injected `random` source.
struct NodeStateMachine {
    enum State: Equatable {
        case connecting
        case up
        case down(failedConnects: Int)
        case closed
    }

    enum SubmitDecision: Equatable {
        /// Send it now on the connection `ConnectionChoice` picks.
        case send
        /// It waits in the queue; open one more connection when `openConnection`.
        case queued(openConnection: Bool)
        case refuse(StoreError)
    }

    enum FailureAction {
        case none
        case openConnection
        /// Fail `waiting` (the queue, emptied) and arm the reconnect timer.
        case markDown(waiting: [StoreCommand], error: StoreError, reconnectAfterMs: UInt64)
    }

    let address: SocketAddress
    let limits: StoreLimits
    /// A number in 0…1 for the backoff jitter.
    private let random: () -> Double
    private(set) var state = State.connecting
    private var queue = FIFO<StoreCommand>()
    /// Commands in the queue still waiting (timed-out ones stay until popped).
    private(set) var queuedCount = 0
    private(set) var openingConnections = 0
    private(set) var readyConnections = 0
    private(set) var lastError: StoreError?

    init(address: SocketAddress, limits: StoreLimits, random: @escaping () -> Double = { Double.random(in: 0...1) }) {
        self.address = address
        self.limits = limits
        self.random = random
    }

    var acceptsCommands: Bool {
        switch state {
        case .connecting, .up: true
        case .down, .closed: false
        }
    }

    var openConnections: Int { openingConnections + readyConnections }

    // MARK: commands

    /// `canSendNow`: a ready connection is under its depth cap.
    mutating func submit(_ command: StoreCommand, canSendNow: Bool) -> SubmitDecision {
        guard acceptsCommands else {
            let message = lastError?.message ?? "\(address) is down"
            return .refuse(StoreError(.nodeDown, message))
        }
        // FIFO: nothing overtakes commands already waiting.
        if queuedCount == 0, canSendNow { return .send }
        guard queuedCount < limits.maxQueuedPerNode else {
            return .refuse(StoreError(.overloaded, "\(address): \(limits.maxQueuedPerNode) commands already waiting"))
        }
        queue.append(command)
        queuedCount += 1
        return .queued(openConnection: openConnectionIfAllowed())
    }

    /// The oldest waiting command, left in the queue (timed-out ones are dropped).
    mutating func peekQueued() -> StoreCommand? {
        while let command = queue.first, !command.isLive { _ = queue.popFirst() }
        return queue.first
    }

    /// The oldest waiting command, when a connection can take it (timed-out ones are dropped).
    mutating func popQueued() -> StoreCommand? {
        while let command = queue.first, !command.isLive { _ = queue.popFirst() }
        guard let command = queue.popFirst() else { return nil }
        queuedCount -= 1
        return command
    }

    /// A queued command's deadline passed; its entry is dropped when reached.
    mutating func queuedCommandDidTimeOut() {
        queuedCount -= 1
    }

    /// Whether to open one more connection now (and counts it as opening): the node
    /// accepts commands, is under `maxConnectionsPerNode`, and is not already opening one
    /// (one at a time absorbs a burst).
    mutating func openConnectionIfAllowed() -> Bool {
        guard acceptsCommands, openConnections < limits.maxConnectionsPerNode, openingConnections == 0 else {
            return false
        }
        openingConnections += 1
        return true
    }

    /// After the queue was drained as far as connections allow: open one more if
    /// commands still wait.
    mutating func queueDidDrain() -> Bool {
        queuedCount > 0 && openConnectionIfAllowed()
    }

    // MARK: connections

    mutating func connectionDidBecomeReady() {
        guard state != .closed else { return }
        openingConnections -= 1
        readyConnections += 1
        lastError = nil
        state = .up
    }

    mutating func connectionDidClose(wasReady: Bool, error: StoreError) -> FailureAction {
        if wasReady { readyConnections -= 1 } else { openingConnections -= 1 }
        switch state {
        case .closed:
            return .none
        case .up, .connecting, .down:
            break
        }
        if wasReady {
            // A drop after a working period: try again at once; a refusal then marks it down.
            if readyConnections == 0 { state = .connecting }
            guard queuedCount > 0 || openConnections == 0 else { return .none }
            return openConnectionIfAllowed() ? .openConnection : .none
        }
        lastError = error
        let failed: Int
        if case .down(let before) = state { failed = before + 1 } else { failed = 1 }
        guard readyConnections == 0 else { return .none }
        state = .down(failedConnects: failed)
        let waiting = queue.removeAll().filter(\.isLive)
        queuedCount = 0
        let kind: StoreError.Kind =
            switch error.kind {
            case .authenticationFailed, .certificateRejected: error.kind
            default: .nodeDown
            }
        return .markDown(
            waiting: waiting, error: StoreError(kind, error.message),
            reconnectAfterMs: backoffMs(failedConnects: failed))
    }

    /// The reconnect timer fired: one probe connection while down with none open.
    mutating func reconnectTimerDidFire() -> Bool {
        guard case .down = state, openConnections == 0 else { return false }
        openingConnections += 1
        return true
    }

    /// Closes the node; returns the waiting commands to fail.
    mutating func close() -> [StoreCommand] {
        state = .closed
        lastError = StoreError(.closed, "the store is closed")
        let waiting = queue.removeAll().filter(\.isLive)
        queuedCount = 0
        return waiting
    }

    /// `reconnectBaseMs` doubling per failed connect up to `reconnectMaxMs`, times 0.5…1.
    func backoffMs(failedConnects: Int) -> UInt64 {
        let exponent = min(max(failedConnects - 1, 0), 16)
        let ceiling = min(limits.reconnectMaxMs, limits.reconnectBaseMs << UInt64(exponent))
        let jitter = 0.5 + 0.5 * min(max(random(), 0), 1)
        return max(UInt64(Double(ceiling) * jitter), 1)
    }
}
