internal import EventLoop
internal import RESP

/// A write that is acknowledged only once its master's replicas have it: `WAIT n
/// timeout` rides behind the write, in the same socket write on the same connection, so
/// no other command of that connection runs between the two. `n` is the replica count
/// the node knew when it accepted the command (cluster topology, or `INFO replication`
/// on a single node); the timeout is the command's time left, less a margin so WAIT's
/// own reply arrives before the command's deadline: Redis notices a blocked client's
/// timeout only when its event loop wakes, up to 1000/hz ms (100 ms at the default hz)
/// late, so the margin is half the time left, at most 150 ms.
///
/// ```
///  write ─▶ its reply (kept) ─▶ WAIT's reply: ≥ n confirmed ─▶ the write's reply
///                                           < n confirmed ─▶ .notReplicated (in doubt)
///  write answered with an error ─▶ that error (nothing was written; WAIT's reply is dropped)
/// ```
struct ReplicaWait {
    /// Replicas that must confirm.
    let required: Int
    /// The command's deadline on the loop clock.
    let deadlineAtMs: UInt64

    /// WAIT's timeout at `nowMs`: never 0 (WAIT 0 blocks for ever).
    func timeoutMs(nowMs: UInt64) -> UInt64 {
        let left = deadlineAtMs > nowMs ? deadlineAtMs - nowMs : 0
        let margin = min(max(left / 2, 2), 150)
        return max(left > margin ? left - margin : 1, 1)
    }

    func appendCommand(nowMs: UInt64, to buffer: inout [UInt8]) {
        RESPEncoder.appendCommand(["WAIT", String(required), String(timeoutMs(nowMs: nowMs))], to: &buffer)
    }

    /// The command's outcome from the write's own reply and WAIT's.
    func outcome(ownReply: RESPValue?, waitReply: RESPValue, address: SocketAddress) -> Result<RESPValue, StoreError> {
        guard let ownReply else {
            return .failure(StoreError(.protocolError, "\(address): WAIT answered before the write"))
        }
        if case .error = ownReply { return .success(ownReply) }
        switch waitReply {
        case .integer(let confirmed) where confirmed >= required:
            return .success(ownReply)
        case .integer(let confirmed):
            return .failure(
                StoreError(
                    .notReplicated,
                    "\(address): \(confirmed) of \(required) replicas confirmed the write before the deadline"))
        default:
            return .failure(StoreError(.notReplicated, "\(address) answered WAIT with \(waitReply)"))
        }
    }
}

/// Keeps a single store node's replica count current with `INFO replication` (replicas
/// in state `online`), for writes that wait for replicas. Started by the first such
/// write; until the first answer arrives, those writes wait here (bounded by the node's
/// queue limit and each by its own deadline) and are submitted, with what is left of
/// their deadline, when it does. Refreshes every `clusterRefreshMs`, or every
/// `clusterDegradedRefreshMs` while the node has no replica.
final class ReplicaCountProbe {
    private let node: Node
    private let loop: Loop
    private let limits: StoreLimits
    private var timer: Timer?
    private var probing = false
    private var closed = false
    /// Writes held for the first count, each with the loop time its deadline falls at.
    private var waiting: [(command: StoreCommand, deadlineAtMs: UInt64)] = []
    /// Fails held writes whose deadline passes; armed for the earliest one.
    private var expiryTimer: Timer?
    private var expiryAtMs: UInt64 = .max

    init(node: Node, loop: Loop, limits: StoreLimits) {
        self.node = node
        self.loop = loop
        self.limits = limits
    }

    /// A write that waits for replicas: to the node once its replica count is known.
    func submit(_ command: StoreCommand) -> StoreError? {
        if timer == nil, !closed {
            timer = Timer(loop: loop)
            probe()
        }
        if node.replicaCount != nil { return node.submit(command) }
        guard !closed else { return StoreError(.closed, "the store is closed") }
        guard waiting.count < limits.maxQueuedPerNode else {
            return StoreError(.overloaded, "\(node.address): replica count not known yet, too many writes waiting")
        }
        let deadlineAtMs = loop.nowMs &+ command.timeoutMs
        waiting.append((command, deadlineAtMs))
        if deadlineAtMs < expiryAtMs { armExpiry(at: deadlineAtMs) }
        return nil
    }

    private func armExpiry(at deadlineAtMs: UInt64) {
        let timer = expiryTimer ?? Timer(loop: loop)
        expiryTimer = timer
        expiryAtMs = deadlineAtMs
        let now = loop.nowMs
        timer.start(afterMs: deadlineAtMs > now ? deadlineAtMs - now : 0) { [weak self] in self?.expireHeldWrites() }
    }

    /// The expiry timer fired: writes past their deadline fail as never sent; the timer
    /// is armed again for the earliest left.
    private func expireHeldWrites() {
        let now = loop.nowMs
        var expired: [StoreCommand] = []
        var earliest = UInt64.max
        waiting.removeAll { held in
            if held.deadlineAtMs <= now {
                expired.append(held.command)
                return true
            }
            earliest = min(earliest, held.deadlineAtMs)
            return false
        }
        expiryAtMs = .max
        if earliest != .max { armExpiry(at: earliest) }
        for command in expired {
            command.finish(
                .failure(
                    StoreError(
                        .timeout(outcomeUnknown: false),
                        "\(node.address): the replica count was not known within the write's deadline")))
        }
    }

    private func probe() {
        guard !probing, !closed else { return }
        probing = true
        let command = StoreCommand(["INFO", "replication"], idempotent: true, timeoutMs: limits.connectTimeoutMs) {
            [weak self] result in
            self?.probeDidFinish(result)
        }
        if let refusal = node.submit(command) { probeDidFinish(.failure(refusal)) }
    }

    private func probeDidFinish(_ result: Result<RESPValue, StoreError>) {
        probing = false
        guard !closed else { return }
        var failure: StoreError?
        switch result {
        case .success(.bulkString(let bytes?)), .success(.verbatim(_, let bytes)):
            node.replicaCount = Self.onlineReplicas(infoReplication: String(decoding: bytes, as: UTF8.self))
        case .success(let other):
            failure = StoreError(.protocolError, "\(node.address) answered INFO replication with \(other)")
        case .failure(let error):
            failure = error
        }
        let held = waiting
        waiting = []
        expiryTimer?.stop()
        expiryAtMs = .max
        let now = loop.nowMs
        for (command, deadlineAtMs) in held {
            var refusal = failure
            if refusal == nil {
                // The expiry timer's turn may not have come yet: at least 1 ms is left.
                command.timeoutMs = deadlineAtMs > now ? deadlineAtMs - now : 1
                refusal = node.submit(command)
            }
            if let refusal { command.finish(.failure(refusal)) }
        }
        let delay = (node.replicaCount ?? 0) > 0 ? limits.clusterRefreshMs : limits.clusterDegradedRefreshMs
        timer?.start(afterMs: delay) { [weak self] in self?.probe() }
    }

    /// `slaveN:…,state=online,…` lines of `INFO replication`.
    static func onlineReplicas(infoReplication text: String) -> Int {
        var count = 0
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("slave") && line.contains(":ip=") {
            if line.contains("state=online") { count += 1 }
        }
        return count
    }

    func close() {
        closed = true
        timer?.close()
        timer = nil
        expiryTimer?.close()
        expiryTimer = nil
        let held = waiting.map(\.command)
        waiting = []
        // Like every completion, theirs run on a later loop turn.
        loop.runSoon {
            for command in held { command.finish(.failure(StoreError(.closed, "the store is closed"))) }
        }
    }
}
