package import RESP
internal import EventLoop

/// One command on its way to the store: its encoded bytes, whether repeating it is
/// harmless, its deadline, and the completion that hears the outcome exactly once.
///
/// States: `queued` (in the node's wait queue), `sent` (in a connection's
/// awaiting-reply FIFO), `finished` (its outcome is known: replied, timed out or
/// failed). A finished command's outcome is held until its node delivers it on a later
/// loop turn (`deliver`), so no completion runs inside the call that produced it. A
/// command that times out while `sent` stays in the FIFO, abandoned, so its late reply
/// is read and dropped and later replies still match their commands.
package final class StoreCommand: DeadlineTarget {
    package typealias Completion = (Result<RESPValue, StoreError>) -> Void

    enum State { case new, queued, sent, finished }

    let encoded: [UInt8]
    /// Safe to repeat (a read, or a write guarded by a condition): a lost reply does not
    /// leave its outcome unknown.
    package let isIdempotent: Bool
    /// Where it goes in a cluster (ignored by a single node).
    package let routing: CommandRouting
    /// A replica in READONLY mode may answer it.
    package let isReadOnly: Bool
    /// Replies to read and drop before this command's own: 1 when ASKING rides in front.
    var repliesToSkip = 0
    let timeoutMs: UInt64
    private var completion: Completion?
    private var outcome: Result<RESPValue, StoreError>?
    var state = State.new
    unowned(unsafe) var node: Node?
    /// The connection carrying it; meaningful only while `state == .sent` (the connection
    /// settles every command it holds before it goes away).
    unowned(unsafe) var connection: BackendConnection?
    package var deadlineHeapIndex = -1

    /// `slot` pins a keyless command (SCAN) to the node serving that slot.
    package init(
        _ arguments: [String], idempotent: Bool, timeoutMs: UInt64, slot: Int? = nil, completion: @escaping Completion
    ) {
        var bytes: [UInt8] = []
        RESPEncoder.appendCommand(arguments, to: &bytes)
        self.encoded = bytes
        self.isIdempotent = idempotent
        self.routing = slot.map { .slot($0) } ?? CommandRouting(arguments: arguments)
        self.isReadOnly = CommandRouting.isReadOnly(arguments)
        self.timeoutMs = timeoutMs
        self.completion = completion
    }

    package init(
        encoded: [UInt8], idempotent: Bool, timeoutMs: UInt64, routing: CommandRouting = .keyless,
        readOnly: Bool = false, completion: @escaping Completion
    ) {
        self.encoded = encoded
        self.isIdempotent = idempotent
        self.routing = routing
        self.isReadOnly = readOnly
        self.timeoutMs = timeoutMs
        self.completion = completion
    }

    /// Its outcome is not known yet (not replied, timed out or failed).
    var isLive: Bool { state != .finished }

    /// Records the outcome without running the completion; false when it already had one.
    @discardableResult
    func settle(_ result: Result<RESPValue, StoreError>) -> Bool {
        guard state != .finished else { return false }
        state = .finished
        connection = nil
        outcome = result
        return true
    }

    /// Runs the completion with the settled outcome, once.
    func deliver() {
        guard let completion, let outcome else { return }
        self.completion = nil
        self.outcome = nil
        completion(outcome)
    }

    /// Settles and delivers at once: only for a caller's command finished from an event
    /// that is itself a later loop turn (the cluster router's attempt completions).
    func finish(_ result: Result<RESPValue, StoreError>) {
        guard settle(result) else { return }
        deliver()
    }

    package func deadlineDidExpire() {
        node?.commandDidTimeOut(self)
    }
}
