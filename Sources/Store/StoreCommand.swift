package import RESP
internal import EventLoop

/// One command on its way to the store: its encoded bytes, whether repeating it is
/// harmless, its deadline, and the completion that hears the reply exactly once.
///
/// States: `queued` (in the node's wait queue), `sent` (in a connection's
/// awaiting-reply FIFO), `finished` (completed: replied, timed out or failed). A command
/// that times out while `sent` stays in the FIFO, abandoned, so its late reply is read
/// and dropped and later replies still match their commands.
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
    /// Replies the caller's bytes draw before the one that completes it: MULTI and the
    /// commands it queues, ahead of EXEC. The first error among them (a redirect queued
    /// inside a transaction) completes the command in place of EXEC's EXECABORT.
    package let leadingReplies: Int
    /// Replies to read before this command's own: `leadingReplies`, plus 1 when ASKING rides in front.
    var repliesToSkip = 0
    /// The first error among the skipped replies.
    var skippedError: String?
    let timeoutMs: UInt64
    private var completion: Completion?
    var state = State.new
    unowned(unsafe) var node: Node?
    /// The connection carrying it once sent (until finished).
    weak var connection: BackendConnection?
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
        self.leadingReplies = 0
        self.timeoutMs = timeoutMs
        self.completion = completion
    }

    package init(
        encoded: [UInt8], idempotent: Bool, timeoutMs: UInt64, routing: CommandRouting = .keyless,
        readOnly: Bool = false, leadingReplies: Int = 0, completion: @escaping Completion
    ) {
        self.encoded = encoded
        self.isIdempotent = idempotent
        self.routing = routing
        self.isReadOnly = readOnly
        self.leadingReplies = leadingReplies
        self.repliesToSkip = leadingReplies
        self.timeoutMs = timeoutMs
        self.completion = completion
    }

    /// Still waiting for its reply (not timed out, not failed).
    var isLive: Bool { completion != nil }

    func finish(_ result: Result<RESPValue, StoreError>) {
        guard let completion else { return }
        self.completion = nil
        state = .finished
        completion(result)
    }

    package func deadlineDidExpire() {
        node?.commandDidTimeOut(self)
    }
}
