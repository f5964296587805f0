package import EventLoop

/// One store address and everything the gateway holds for it: at most
/// `maxConnectionsPerNode` pipelined connections (opened lazily, when every open one is
/// at `maxPipelinePerConnection`), a bounded wait queue, and reconnect backoff.
///
/// ```
///  submit ─▶ least-loaded ready connection under its depth cap
///        └─▶ else the wait queue (bounded) ─▶ else rejected: overloaded (synchronously)
/// ```
/// States: `up` (connections usable or being opened) and `down` (the last connect
/// failed: commands are refused at once, and one probe connection is tried after an
/// exponential backoff with jitter, 100 ms doubling up to 2 s by default).
package final class Node {
    enum State: Equatable { case up, down }

    package let address: SocketAddress
    let loop: Loop
    let limits: StoreLimits
    let credentials: StoreURL
    private(set) var state = State.up
    private var connections: [BackendConnection] = []
    private var queue: [StoreCommand] = []
    private var queueHead = 0
    private var reconnectTimer: Timer?
    /// After `close()`: no reconnect is scheduled (a failure that closes the store from a
    /// completion, e.g. exit 78 on a wrong password, came back here and started a timer).
    private var isClosed = false
    private var failedConnects = 0
    private(set) var lastError: StoreError?
    package private(set) var stats = NodeStats()
    /// Its connections send READONLY (a replica serving reads).
    let readOnly: Bool
    /// In a cluster: what the last topology said of it.
    package internal(set) var role = NodeRole.master
    package internal(set) var slotRanges: [ClosedRange<Int>] = []
    /// Told when a connection drops or a connect fails (the cluster refreshes its map).
    var onConnectionLoss: (() -> Void)?

    init(address: SocketAddress, loop: Loop, limits: StoreLimits, credentials: StoreURL, readOnly: Bool = false) {
        self.address = address
        self.loop = loop
        self.limits = limits
        self.credentials = credentials
        self.readOnly = readOnly
    }

    package var isUp: Bool { state == .up }
    package var openConnections: Int { connections.count }
    package var queuedCommands: Int { stats.queued }

    /// Accepts `command` (it completes later, never inside this call) or refuses it now.
    func submit(_ command: StoreCommand) -> StoreError? {
        guard state == .up else {
            stats.rejectedNodeDown += 1
            return lastError.map { StoreError(.nodeDown, $0.message) } ?? StoreError(.nodeDown, "\(address) is down")
        }
        // FIFO: nothing overtakes commands already waiting.
        if stats.queued == 0, let connection = leastLoadedConnection() {
            accept(command)
            connection.send(command)
            growPoolIfBusy()
            return nil
        }
        guard stats.queued < limits.maxQueuedPerNode else {
            stats.rejectedOverloaded += 1
            return StoreError(.overloaded, "\(address): \(limits.maxQueuedPerNode) commands already waiting")
        }
        accept(command)
        command.state = .queued
        queue.append(command)
        stats.queued += 1
        openConnectionIfAllowed()
        return nil
    }

    private func accept(_ command: StoreCommand) {
        command.node = self
        stats.inFlight += 1
        stats.submitted += 1
        loop.deadlines.schedule(command, afterMs: command.timeoutMs)
    }

    private func leastLoadedConnection() -> BackendConnection? {
        var best: BackendConnection?
        for connection in connections where connection.isReady && connection.depth < limits.maxPipelinePerConnection {
            if best == nil || connection.depth < best!.depth { best = connection }
        }
        return best
    }

    /// Opens one more connection when every open one is at least half way to its depth cap.
    private func growPoolIfBusy() {
        guard connections.allSatisfy({ $0.depth >= max(limits.maxPipelinePerConnection / 2, 1) }) else { return }
        openConnectionIfAllowed()
    }

    private func openConnectionIfAllowed() {
        guard state == .up, connections.count < limits.maxConnectionsPerNode else { return }
        // One connection being opened at a time is enough to absorb a burst.
        guard !connections.contains(where: { !$0.isReady }) else { return }
        openConnection()
    }

    private func openConnection() {
        let connection = BackendConnection(node: self, loop: loop)
        connections.append(connection)
        stats.connectAttempts += 1
        connection.connect()
    }

    // MARK: events from connections and commands

    func connectionDidBecomeReady(_ connection: BackendConnection) {
        failedConnects = 0
        lastError = nil
        state = .up
        drainQueue()
    }

    func connectionDidFreeCapacity(_ connection: BackendConnection) {
        if queue.count > queueHead { drainQueue() }
    }

    private func drainQueue() {
        while queueHead < queue.count {
            let command = queue[queueHead]
            guard command.isLive else {
                queueHead += 1
                continue
            }
            guard let connection = leastLoadedConnection() else { break }
            queueHead += 1
            stats.queued -= 1
            connection.send(command)
        }
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: queue.count <= 256)
            queueHead = 0
        } else if queueHead > 1024 {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        if queue.count > queueHead { openConnectionIfAllowed() }
    }

    func commandDidComplete(_ command: StoreCommand) {
        stats.inFlight -= 1
        loop.deadlines.cancel(command)
    }

    func commandDidTimeOut(_ command: StoreCommand) {
        guard command.isLive else { return }
        stats.timeouts += 1
        stats.inFlight -= 1
        switch command.state {
        case .queued:
            stats.queued -= 1
            command.finish(.failure(StoreError(.timeout(outcomeUnknown: false), "\(address): not sent before the deadline")))
        case .sent:
            let unknown = !command.isIdempotent
            let connection = command.connection
            command.finish(.failure(StoreError(.timeout(outcomeUnknown: unknown), "\(address) did not reply in time")))
            if let connection { replaceIfStuck(connection) }
        case .new, .finished:
            break
        }
    }

    /// A connection whose last `maxConsecutiveTimeouts` commands all timed out is stuck
    /// (a hung node, a lost reply): close it, failing what is still on it.
    private func replaceIfStuck(_ connection: BackendConnection) {
        connection.didAbandonCommand()
        guard connection.isReady, connection.abandonedSinceLastReply >= limits.maxConsecutiveTimeouts else { return }
        stats.replacedConnections += 1
        connection.fail(StoreError(.connectionLost(outcomeUnknown: true), "\(address) stopped replying"))
    }

    func connectionDidFail(_ connection: BackendConnection, error: StoreError, wasReady: Bool) {
        connections.removeAll { $0 === connection }
        stats.errors += 1
        onConnectionLoss?()
        if wasReady {
            // A drop after a working period: try again at once; a refusal then marks it down.
            if queue.count > queueHead || connections.isEmpty { openConnectionIfAllowed() }
            return
        }
        lastError = error
        failedConnects += 1
        guard !connections.contains(where: { $0.isReady }) else { return }
        markDown(error)
    }

    private func markDown(_ error: StoreError) {
        state = .down
        let waiting = queue[queueHead...].filter(\.isLive)
        queue = []
        queueHead = 0
        stats.queued = 0
        for command in waiting {
            commandDidComplete(command)
            command.finish(.failure(StoreError(error.kind == .authenticationFailed ? .authenticationFailed : .nodeDown, error.message)))
        }
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        guard !isClosed else { return }
        let exponent = min(failedConnects - 1, 16)
        let ceiling = min(limits.reconnectMaxMs, limits.reconnectBaseMs << UInt64(max(exponent, 0)))
        let delay = UInt64(Double(ceiling) * Double.random(in: 0.5...1.0))
        let timer = reconnectTimer ?? Timer(loop: loop)
        reconnectTimer = timer
        timer.start(afterMs: max(delay, 1)) { [weak self] in
            // One probe; the node stays down (failing fast) until it is ready.
            guard let self, self.state == .down, self.connections.isEmpty else { return }
            self.stats.reconnects += 1
            self.openConnection()
        }
    }

    /// Closes every connection and fails what is waiting; the node is unusable after.
    func close() {
        isClosed = true
        reconnectTimer?.close()
        reconnectTimer = nil
        state = .down
        lastError = StoreError(.closed, "the store is closed")
        for connection in connections { connection.fail(StoreError(.closed, "the store is closed")) }
        connections = []
        for command in queue[queueHead...] where command.isLive {
            commandDidComplete(command)
            command.finish(.failure(StoreError(.closed, "the store is closed")))
        }
        queue = []
        queueHead = 0
    }
}

/// A node's place in a Redis Cluster (a single node is a master).
package enum NodeRole: String, Sendable {
    case master, replica
}

/// Counters for /metrics, per node; plain integers updated on the loop thread.
package struct NodeStats: Sendable, Equatable {
    package var submitted = 0
    package var inFlight = 0
    package var queued = 0
    package var timeouts = 0
    package var errors = 0
    package var reconnects = 0
    package var connectAttempts = 0
    package var replacedConnections = 0
    package var rejectedOverloaded = 0
    package var rejectedNodeDown = 0
}
