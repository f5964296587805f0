package import EventLoop
internal import RESP
internal import TLS

/// One store address and everything the gateway holds for it: at most
/// `maxConnectionsPerNode` pipelined connections (opened lazily, when every open one is
/// at `maxPipelinePerConnection`), a bounded wait queue, reconnect backoff, and the
/// queue of settled commands whose completions run on a later loop turn.
///
/// ```
///  submit ─▶ first ready connection below half its depth cap, else the least-loaded under it
///        └─▶ else the wait queue (bounded) ─▶ else refused: overloaded (synchronously)
///  settle(command) ─▶ [settled FIFO] ─runSoon─▶ completions, before the loop polls again
/// ```
/// What to do on each event (submit, connection ready or closed, reconnect timer,
/// close) is decided by its `NodeStateMachine` (connecting / up / down with backoff /
/// closed); this class owns the connections and the timer and carries the decisions
/// out. Nothing here runs a completion inside the call that led to it: `submit`
/// refuses by return value or accepts, and an accepted command's completion always
/// runs from the settled queue.
package final class Node {
    package let address: SocketAddress
    let loop: Loop
    let limits: StoreLimits
    let credentials: StoreURL
    /// Set when the store URL is `rediss://`: every connection speaks TLS.
    let tls: TLSContext?
    /// The name a new connection checks the certificate against instead of the
    /// address's host: the host name a cluster node announces. `--store-tls-server-name`
    /// still wins.
    var tlsServerName: String?
    // The hot fields skip the run-time exclusivity check (it cost about a tenth of a
    // command's instructions): each is changed only by calls that never call out (the
    // state machine, FIFO, counters), on the loop thread, so no two accesses can overlap.
    @exclusivity(unchecked) private var machine: NodeStateMachine
    @exclusivity(unchecked) private var connections: [BackendConnection] = []
    private var reconnectTimer: Timer?
    @exclusivity(unchecked) private var settled = FIFO<StoreCommand>()
    @exclusivity(unchecked) private var deliveryScheduled = false
    @exclusivity(unchecked) private var counters = NodeStats()
    /// Its connections send READONLY (a replica serving reads).
    let readOnly: Bool
    /// In a cluster: what the last topology said of it.
    package internal(set) var role = NodeRole.master
    package internal(set) var slotRanges: [ClosedRange<Int>] = []
    /// Replicas a write that waits for them must reach: from the cluster topology, or
    /// `INFO replication` on a single node; nil until known.
    package internal(set) var replicaCount: Int?
    /// Told when a connection drops or a connect fails (the cluster refreshes its map).
    var onConnectionLoss: (() -> Void)?

    init(
        address: SocketAddress, loop: Loop, limits: StoreLimits, credentials: StoreURL, tls: TLSContext? = nil,
        readOnly: Bool = false, random: @escaping () -> Double = { Double.random(in: 0...1) }
    ) {
        self.address = address
        self.tls = tls
        self.loop = loop
        self.limits = limits
        self.credentials = credentials
        self.readOnly = readOnly
        machine = NodeStateMachine(address: address, limits: limits, random: random)
    }

    package var isUp: Bool { machine.acceptsCommands }
    package var openConnections: Int { connections.count }
    package var queuedCommands: Int { machine.queuedCount }
    package var stats: NodeStats {
        var stats = counters
        stats.queued = machine.queuedCount
        return stats
    }
    var lastError: StoreError? { machine.lastError }

    /// Accepts `command` (it completes on a later loop turn) or refuses it now (then it
    /// never completes).
    func submit(_ command: StoreCommand) -> StoreError? {
        if command.waitsForReplicas, let refusal = prepareReplicaWait(command) { return refusal }
        let connection = connection(for: command)
        switch machine.submit(command, canSendNow: connection != nil) {
        case .refuse(let error):
            if case .overloaded = error.kind {
                counters.rejectedOverloaded += 1
            } else {
                counters.rejectedNodeDown += 1
            }
            return error
        case .send:
            accept(command)
            connection!.send(command)
            growPoolIfBusy(waiting: command.replicaWait != nil)
        case .queued(let openConnection):
            accept(command)
            command.state = .queued
            if openConnection { self.openConnection() }
        }
        return nil
    }

    private func accept(_ command: StoreCommand) {
        command.node = self
        counters.inFlight += 1
        counters.submitted += 1
        loop.deadlines.schedule(command, afterMs: command.timeoutMs)
    }

    /// Where `command` goes now, if anywhere (`ConnectionChoice.pick`).
    private func connection(for command: StoreCommand) -> BackendConnection? {
        ConnectionChoice.pick(
            connections, load: Self.load, commandWaits: command.replicaWait != nil,
            maxDepth: limits.maxPipelinePerConnection, maxConnections: limits.maxConnectionsPerNode
        ).map { connections[$0] }
    }

    private func growPoolIfBusy(waiting: Bool = false) {
        guard
            ConnectionChoice.shouldGrow(
                connections, load: Self.load, sentWait: waiting, maxDepth: limits.maxPipelinePerConnection)
        else { return }
        if machine.openConnectionIfAllowed() { openConnection() }
    }

    @inline(__always)
    private static func load(_ connection: BackendConnection) -> ConnectionLoad {
        ConnectionLoad(isReady: connection.isReady, depth: connection.depth, waitsInFlight: connection.waitsInFlight)
    }

    /// Refuses a write that waits for replicas when the node has none (or does not know
    /// yet); else fixes how many must confirm and by when.
    private func prepareReplicaWait(_ command: StoreCommand) -> StoreError? {
        guard let replicaCount else {
            return StoreError(.nodeDown, "\(address): its replica count is not known yet")
        }
        guard replicaCount > 0 else {
            return StoreError(.noReplicas, "\(address) has no replica to wait for")
        }
        command.replicaWait = ReplicaWait(required: replicaCount, deadlineAtMs: loop.nowMs &+ command.timeoutMs)
        return nil
    }

    private func openConnection() {
        let connection = BackendConnection(node: self, loop: loop)
        connections.append(connection)
        counters.connectAttempts += 1
        connection.connect()
    }

    private func drainQueue() {
        while let command = machine.peekQueued(), let connection = connection(for: command) {
            _ = machine.popQueued()
            connection.send(command)
        }
        if machine.queueDidDrain() { openConnection() }
    }

    // MARK: outcomes

    /// Records `command`'s outcome; its completion runs on a later loop turn.
    func settle(_ command: StoreCommand, _ result: Result<RESPValue, StoreError>) {
        guard command.settle(result) else { return }
        counters.inFlight -= 1
        loop.deadlines.cancel(command)
        settled.append(command)
        guard !deliveryScheduled else { return }
        deliveryScheduled = true
        loop.runSoon { [self] in deliverSettled() }
    }

    /// Runs the completions settled so far; ones settled meanwhile (a completion that
    /// closes the store) wait for the next round, so none runs inside another.
    private func deliverSettled() {
        deliveryScheduled = false
        var count = settled.count
        while count > 0, let command = settled.popFirst() {
            count -= 1
            command.deliver()
        }
    }

    func commandDidTimeOut(_ command: StoreCommand) {
        guard command.isLive else { return }
        counters.timeouts += 1
        switch command.state {
        case .queued:
            machine.queuedCommandDidTimeOut()
            settle(
                command,
                .failure(StoreError(.timeout(outcomeUnknown: false), "\(address): not sent before the deadline")))
        case .sent:
            let connection = command.connection
            let unknown = !command.isIdempotent
            settle(command, .failure(StoreError(.timeout(outcomeUnknown: unknown), "\(address) did not reply in time")))
            if connection?.didAbandonCommand() == true { counters.replacedConnections += 1 }
        case .new, .finished:
            break
        }
    }

    // MARK: events from connections

    func connectionDidBecomeReady(_ connection: BackendConnection) {
        machine.connectionDidBecomeReady()
        drainQueue()
    }

    func connectionDidFreeCapacity(_ connection: BackendConnection) {
        if machine.queuedCount > 0 { drainQueue() }
    }

    func connectionDidClose(_ connection: BackendConnection, _ failure: BackendConnectionStateMachine.Failure) {
        connections.removeAll { $0 === connection }
        counters.errors += 1
        for command in failure.lost {
            settle(command, .failure(BackendConnectionStateMachine.error(for: command, lostWith: failure.error)))
        }
        onConnectionLoss?()
        switch machine.connectionDidClose(wasReady: failure.wasReady, error: failure.error) {
        case .none:
            break
        case .openConnection:
            openConnection()
        case .markDown(let waiting, let error, let delay):
            for command in waiting { settle(command, .failure(error)) }
            scheduleReconnect(afterMs: delay)
        }
    }

    private func scheduleReconnect(afterMs delay: UInt64) {
        let timer = reconnectTimer ?? Timer(loop: loop)
        reconnectTimer = timer
        timer.start(afterMs: delay) { [weak self] in
            // One probe; the node stays down (failing fast) until it is ready.
            guard let self, self.machine.reconnectTimerDidFire() else { return }
            self.counters.reconnects += 1
            self.openConnection()
        }
    }

    /// Closes every connection and fails what is waiting (on a later loop turn, like
    /// every completion); the node is unusable after.
    func close() {
        let waiting = machine.close()
        reconnectTimer?.close()
        reconnectTimer = nil
        for connection in connections { connection.close(StoreError(.closed, "the store is closed")) }
        connections = []
        for command in waiting { settle(command, .failure(StoreError(.closed, "the store is closed"))) }
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
