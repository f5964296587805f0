internal import EventLoop
internal import RESP
internal import TLS

/// Redis Cluster mode of the store: the slot map, one capped pipelined `Node` per
/// cluster node (created when the topology first names it, retired when it no longer
/// does and nothing is in flight on it), and the topology refresh.
///
/// ```
///  command ─slot─▶ SlotMap ─▶ master Node (or a replica's, for reads with --read-from-replicas)
///  refresh: CLUSTER SLOTS to a live node ◀─ MOVED / CLUSTERDOWN / connection loss (at once,
///           at most one per minRefreshIntervalMs) and a periodic timer (fast while degraded)
/// ```
/// Before the first refresh answers, commands go to a seed and follow its MOVED replies.
final class ClusterRouter {
    let loop: Loop
    let limits: StoreLimits
    let credentials: StoreURL
    /// Every node's connections speak TLS (`rediss+cluster://`).
    let tls: TLSContext?
    let seeds: [SocketAddress]
    let readFromReplicas: Bool
    private(set) var map = SlotMap()
    /// Every node in use, by address text; `retiring` ones finish what they hold.
    private var nodesByAddress: [String: Node] = [:]
    private(set) var nodeOrder: [Node] = []
    private var retiring: [Node] = []
    private var replicaTurn = 0
    private var refreshTurn = 0
    private var refreshing = false
    private var refreshAgain = false
    private var lastRefreshAt: UInt64 = 0
    private var timer: Timer?
    private var closed = false
    private(set) var stats = ClusterStats()

    init(
        loop: Loop, limits: StoreLimits, credentials: StoreURL, tls: TLSContext?, seeds: [SocketAddress],
        readFromReplicas: Bool
    ) {
        self.tls = tls
        self.loop = loop
        self.limits = limits
        self.credentials = credentials
        self.seeds = seeds
        self.readFromReplicas = readFromReplicas
        for seed in seeds { _ = node(at: seed) }
        let timer = Timer(loop: loop)
        timer.unref()
        self.timer = timer
        loop.runSoon { [weak self] in self?.requestRefresh() }
    }

    var nodes: [Node] { nodeOrder }

    /// The node a command goes to now: its slot's master (or a replica, for a read when
    /// allowed), else any live node, which will redirect it.
    func node(for command: StoreCommand) -> Node? {
        if let slot = command.routing.slot, let range = map.range(ofSlot: slot) {
            if readFromReplicas, command.isReadOnly, !range.replicas.isEmpty {
                let replicas = range.replicas.compactMap { nodesByAddress[$0.description] }.filter(\.isUp)
                if !replicas.isEmpty {
                    replicaTurn &+= 1
                    return replicas[replicaTurn % replicas.count]
                }
            }
            return node(at: range.master)
        }
        return anyMaster()
    }

    private func anyMaster() -> Node? {
        let masters = nodeOrder.filter { $0.role == .master }
        return masters.first(where: \.isUp) ?? masters.first ?? nodeOrder.first
    }

    /// The node for `address`, created (as a master, until a refresh says more) if new.
    func node(at address: SocketAddress) -> Node {
        if let node = nodesByAddress[address.description] { return node }
        if let index = retiring.firstIndex(where: { $0.address == address }) {
            let node = retiring.remove(at: index)
            adopt(node)
            return node
        }
        let node = Node(
            address: address, loop: loop, limits: limits, credentials: credentials, tls: tls,
            readOnly: readFromReplicas)
        node.tlsServerName = map.hostnames[address.description]
        node.onConnectionLoss = { [weak self] in
            self?.loop.runSoon { [weak self] in self?.requestRefresh() }
        }
        adopt(node)
        return node
    }

    private func adopt(_ node: Node) {
        nodesByAddress[node.address.description] = node
        nodeOrder.append(node)
    }

    func didMove(slot: Int, to address: SocketAddress) -> Node {
        map.move(slot: slot, to: address)
        requestRefresh()
        return node(at: address)
    }

    func count(_ redirect: Redirect) {
        switch redirect {
        case .moved: stats.moved += 1
        case .ask: stats.asked += 1
        case .tryAgain: stats.tryAgain += 1
        case .clusterDown: stats.clusterDown += 1
        }
    }

    // MARK: topology refresh

    /// Asks for a refresh now, or as soon as the rate limit allows.
    func requestRefresh() {
        guard !closed else { return }
        if refreshing {
            refreshAgain = true
            return
        }
        let now = loop.nowMs
        let earliest = lastRefreshAt == 0 ? now : lastRefreshAt &+ limits.clusterMinRefreshIntervalMs
        if now < earliest {
            timer?.start(afterMs: earliest - now) { [weak self] in self?.requestRefresh() }
            return
        }
        refresh(candidates: refreshCandidates())
    }

    /// Live masters first (turn by turn), then the other nodes, then the seeds.
    private func refreshCandidates() -> [Node] {
        refreshTurn &+= 1
        let up = nodeOrder.filter(\.isUp)
        let masters = up.filter { $0.role == .master }
        let rotated =
            masters.isEmpty
            ? [] : Array(masters[(refreshTurn % masters.count)...] + masters[..<(refreshTurn % masters.count)])
        let out = rotated + up.filter { $0.role != .master }
        // Every known node down (or none known yet): back to the seeds.
        return out.isEmpty ? seeds.map { node(at: $0) } : out
    }

    private func refresh(candidates: [Node]) {
        var candidates = candidates[...]
        guard let node = candidates.popFirst() else { return refreshDidEnd(success: false) }
        refreshing = true
        lastRefreshAt = loop.nowMs
        let command = StoreCommand(["CLUSTER", "SLOTS"], idempotent: true, timeoutMs: limits.connectTimeoutMs) {
            [weak self, node] result in
            guard let self, !self.closed else { return }
            switch result {
            case .success(let reply) where !reply.isError:
                do throws(StoreError) {
                    let next = try SlotMap(clusterSlots: reply, askedNode: node.address)
                    guard !next.ranges.isEmpty else { throw StoreError(.protocolError, "no slots") }
                    self.apply(next)
                    self.refreshDidEnd(success: true)
                } catch {
                    self.refresh(candidates: Array(candidates))
                }
            default:
                self.refresh(candidates: Array(candidates))
            }
        }
        if node.submit(command) != nil { refresh(candidates: Array(candidates)) }
    }

    private func refreshDidEnd(success: Bool) {
        refreshing = false
        if success { stats.refreshes += 1 } else { stats.refreshFailures += 1 }
        if refreshAgain {
            refreshAgain = false
            return requestRefresh()
        }
        retireIdleNodes()
        let degraded = !success || map.uncoveredSlots > 0 || nodeOrder.contains { $0.role == .master && !$0.isUp }
        let delay = degraded ? limits.clusterDegradedRefreshMs : limits.clusterRefreshMs
        timer?.start(afterMs: delay) { [weak self] in self?.requestRefresh() }
    }

    private func apply(_ next: SlotMap) {
        map = next
        var ranges: [String: [ClosedRange<Int>]] = [:]
        var roles: [String: NodeRole] = [:]
        var replicaCounts: [String: Int] = [:]
        for range in next.ranges {
            ranges[range.master.description, default: []].append(range.start...range.end)
            replicaCounts[range.master.description] = range.replicas.count
            roles[range.master.description] = .master
            for replica in range.replicas where roles[replica.description] == nil {
                roles[replica.description] = .replica
            }
        }
        for address in next.addresses where readFromReplicas || roles[address.description] == .master {
            _ = node(at: address)
        }
        var kept: [Node] = []
        for node in nodeOrder {
            let key = node.address.description
            if let role = roles[key], role == .master || readFromReplicas {
                node.role = role
                node.slotRanges = ranges[key] ?? []
                node.replicaCount = role == .master ? replicaCounts[key] ?? 0 : 0
                node.tlsServerName = next.hostnames[key]
                kept.append(node)
            } else {
                nodesByAddress[key] = nil
                node.slotRanges = []
                retiring.append(node)
            }
        }
        nodeOrder = kept
    }

    /// Nodes the topology dropped are closed once nothing is in flight on them.
    private func retireIdleNodes() {
        retiring.removeAll { node in
            guard node.stats.inFlight == 0 else { return false }
            node.close()
            return true
        }
    }

    func close() {
        closed = true
        timer?.close()
        timer = nil
        for node in nodeOrder + retiring { node.close() }
        retiring = []
    }
}

/// Redirects and refreshes seen by the cluster router; plain integers on the loop thread.
package struct ClusterStats: Sendable, Equatable {
    package var moved = 0
    package var asked = 0
    package var tryAgain = 0
    package var clusterDown = 0
    package var refreshes = 0
    package var refreshFailures = 0
}
