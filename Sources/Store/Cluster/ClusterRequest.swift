internal import EventLoop
internal import RESP

/// One caller's command in cluster mode, carried through redirects to exactly one
/// completion. Each try is a fresh `StoreCommand` with the caller's payload and the time
/// left; the caller's command itself is never on a wire and is finished here.
///
/// ```
///  try ─▶ owner of the slot ─▶ reply ─┬─ MOVED: map updated, refresh asked ─▶ try the new owner
///                                     ├─ ASK: ASKING+command, pipelined, to the named node (map unchanged)
///                                     ├─ TRYAGAIN / CLUSTERDOWN: back off (deadline queue) ─▶ try again
///                                     └─ anything else ─▶ the caller
/// ```
/// A redirect means "not executed", so any command may be sent again; at most
/// `maxRedirects` tries follow the first, all within the caller's deadline. A timeout
/// or a dropped connection is never retried (a write's outcome stays unknown).
final class ClusterRequest: DeadlineTarget {
    static let maxRedirects = 5

    private let command: StoreCommand
    private unowned let router: ClusterRouter
    private let deadlineAt: UInt64
    private var redirects = 0
    private var backoffs = 0
    var deadlineHeapIndex = -1

    init(command: StoreCommand, router: ClusterRouter) {
        self.command = command
        self.router = router
        deadlineAt = router.loop.nowMs &+ command.timeoutMs
    }

    /// The first try: nil when on its way, else the refusal (the command never completes).
    func start() -> StoreError? {
        guard let node = router.node(for: command) else {
            return StoreError(.clusterDown, "no cluster node is known for this key yet")
        }
        return send(to: node, asking: false)
    }

    private func send(to node: Node, asking: Bool) -> StoreError? {
        let now = router.loop.nowMs
        guard now < deadlineAt else {
            return StoreError(.timeout(outcomeUnknown: false), "cluster redirects used up the deadline")
        }
        let attempt = StoreCommand(
            payload: command.payload, asking: asking, idempotent: command.isIdempotent, timeoutMs: deadlineAt - now,
            routing: command.routing, readOnly: command.isReadOnly, leadingReplies: command.leadingReplies,
            keepsArrayReplyEncoded: command.keepsArrayReplyEncoded, waitsForReplicas: command.waitsForReplicas
        ) { [self] result in attemptDidFinish(result) }
        return node.submit(attempt)
    }

    private func attemptDidFinish(_ result: Result<RESPValue, StoreError>) {
        guard case .success(.error(let message)) = result, let redirect = Redirect(error: message) else {
            if case .failure(let error) = result, case .nodeDown = error.kind { router.requestRefresh() }
            return command.finish(result)
        }
        router.count(redirect)
        guard redirects < Self.maxRedirects else {
            return command.finish(
                .failure(StoreError(.clusterDown, "still redirected after \(redirects) tries: \(message)")))
        }
        redirects += 1
        switch redirect {
        case .moved(let slot, let address):
            retry(on: router.didMove(slot: slot, to: address), asking: false)
        case .ask(_, let address):
            retry(on: router.node(at: address), asking: true)
        case .tryAgain, .clusterDown:
            if case .clusterDown = redirect { router.requestRefresh() }
            let delay = UInt64(min(10 << backoffs, 200))
            backoffs += 1
            guard router.loop.nowMs &+ delay < deadlineAt else {
                return command.finish(.failure(StoreError(.clusterDown, "\(message) (until the deadline)")))
            }
            router.loop.deadlines.schedule(self, afterMs: delay)
        }
    }

    private func retry(on node: Node, asking: Bool) {
        if let refusal = send(to: node, asking: asking) { command.finish(.failure(refusal)) }
    }

    /// The back-off is over: try the slot's owner as the map has it now.
    func deadlineDidExpire() {
        guard let node = router.node(for: command) else {
            return command.finish(.failure(StoreError(.clusterDown, "no cluster node is known for this key")))
        }
        retry(on: node, asking: false)
    }
}
