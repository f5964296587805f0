package import EventLoop
package import RESP
package import TLS

/// The store client facade: the gateway hands it commands with a deadline and gets
/// either an immediate refusal (overloaded, node down: backpressure the caller can
/// act on) or, on a later loop turn, exactly one completion.
///
/// ```
///  Gateway ─execute─▶ Store ─▶ Node (per address: capped pool + bounded queue)
///                                 └─▶ BackendConnection ×≤max (pipelined FIFO) ─▶ redis
///  completion ◀─runSoon─ Node's settled queue ◀─ RESP reply matched to the FIFO head
/// ```
/// No completion runs inside `execute` or `close`, nor inside another completion: a
/// reply, a timeout or a failure only settles its command, and the node delivers the
/// settled ones from the loop's deferred queue (`Loop.runSoon`). Node and
/// BackendConnection decide through value-type state machines (NodeStateMachine,
/// BackendConnectionStateMachine) that return actions; the classes own the sockets.
/// Memory is bounded by configuration: nodes × (connections × pipeline depth + queue).
/// Everything runs on the loop thread. With `redis+cluster://` a `ClusterRouter` holds
/// one Node per cluster node and routes each command by its key's slot, following
/// MOVED/ASK (see docs/cluster.md); with one address, one Node serves every key.
package final class Store {
    package let url: StoreURL
    package let limits: StoreLimits
    private let loop: Loop
    private let single: Node?
    private let cluster: ClusterRouter?
    /// Learns the single node's replica count for writes that wait for replicas.
    private let replicaProbe: ReplicaCountProbe?

    /// `tls` applies to `rediss://` URLs (verification on, the system CA store, unless it
    /// says otherwise); a CA, certificate or key file that cannot be loaded is an
    /// `invalidConfiguration` error.
    package init(
        loop: Loop, url: StoreURL, limits: StoreLimits = StoreLimits(), tls: TLSConfiguration = TLSConfiguration()
    ) throws(StoreError) {
        self.loop = loop
        self.url = url
        self.limits = limits
        let context: TLSContext?
        if url.secure {
            if case .single(.unix) = url.target {
                throw StoreError(.invalidConfiguration, "TLS is for TCP store addresses, not unix sockets")
            }
            do throws(TLSError) {
                context = try TLSContext(tls)
            } catch {
                throw StoreError(.invalidConfiguration, error.message)
            }
        } else {
            context = nil
        }
        switch url.target {
        case .single(let address):
            let node = Node(address: address, loop: loop, limits: limits, credentials: url, tls: context)
            single = node
            replicaProbe = ReplicaCountProbe(node: node, loop: loop, limits: limits)
            cluster = nil
        case .cluster(let seeds):
            guard url.database == 0 else {
                throw StoreError(.invalidConfiguration, "Redis Cluster has only database 0")
            }
            single = nil
            replicaProbe = nil
            cluster = ClusterRouter(
                loop: loop, limits: limits, credentials: url, tls: context, seeds: seeds,
                readFromReplicas: limits.readFromReplicas)
        }
    }

    package var isCluster: Bool { cluster != nil }
    package var clusterStats: ClusterStats { cluster?.stats ?? ClusterStats() }
    package var nodes: [Node] { single.map { [$0] } ?? cluster?.nodes ?? [] }

    /// Sends `command`. Returns nil when accepted (its completion will run on a later
    /// loop turn) or the reason it was refused right now (then it never completes).
    package func execute(_ command: StoreCommand) -> StoreError? {
        if let single {
            if command.waitsForReplicas, let replicaProbe { return replicaProbe.submit(command) }
            return single.submit(command)
        }
        guard let cluster else { return StoreError(.closed, "the store is closed") }
        if command.routing == .crossSlot {
            return StoreError(.crossSlot, "the command's keys are in different cluster slots")
        }
        return ClusterRequest(command: command, router: cluster).start()
    }

    /// Convenience: build and send a command; `timeoutMs` defaults to the store's.
    @discardableResult
    package func execute(
        _ arguments: [String], idempotent: Bool, timeoutMs: UInt64? = nil, slot: Int? = nil,
        completion: @escaping StoreCommand.Completion
    ) -> StoreError? {
        execute(
            StoreCommand(
                arguments, idempotent: idempotent, timeoutMs: timeoutMs ?? limits.commandTimeoutMs, slot: slot,
                completion: completion))
    }

    /// Closes every connection; commands still in flight fail (`.closed`) on a later loop
    /// turn, so the loop must turn once more for their completions to run.
    package func close() {
        replicaProbe?.close()
        single?.close()
        cluster?.close()
    }
}

/// The store client's bounds, each with its default (see docs/configuration.md).
package struct StoreLimits: Sendable {
    /// Connections per store node, opened lazily. Default 4.
    package var maxConnectionsPerNode = 4
    /// Commands on the wire per connection. Default 128.
    package var maxPipelinePerConnection = 128
    /// Commands waiting per node when every connection is at its depth cap; past it the
    /// caller is refused (overloaded). Default 1,024.
    package var maxQueuedPerNode = 1024
    /// Default deadline of a command. Default 1 s.
    package var commandTimeoutMs: UInt64 = 1000
    /// Connect plus handshake must finish within this. Default 1 s.
    package var connectTimeoutMs: UInt64 = 1000
    /// A connection whose last N commands all timed out is closed and replaced. Default 3.
    package var maxConsecutiveTimeouts = 3
    /// Reconnect backoff: from this, doubling, with jitter. Default 100 ms.
    package var reconnectBaseMs: UInt64 = 100
    /// Reconnect backoff ceiling. Default 2 s.
    package var reconnectMaxMs: UInt64 = 2000
    /// Name shown in the store's CLIENT LIST.
    package var clientName = "storegate"
    /// Bounds on replies: a reply larger than the body limit can't be served anyway.
    package var replyLimits = RESPLimits(maxBulkLength: 64 * 1024 * 1024)
    /// Cluster: reads may go to replicas (READONLY connections). Default off.
    package var readFromReplicas = false
    /// Cluster: topology refresh period while every slot is served. Default 5 s.
    package var clusterRefreshMs: UInt64 = 5000
    /// Cluster: refresh period while a slot is uncovered or a master is down. Default 250 ms.
    package var clusterDegradedRefreshMs: UInt64 = 250
    /// Cluster: refreshes asked for by redirects and drops are at least this far apart. Default 100 ms.
    package var clusterMinRefreshIntervalMs: UInt64 = 100

    package init() {}
}
