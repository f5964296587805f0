internal import EventLoop
package import RESP

/// One command on its way to the store: its arguments (encoded only when it is written,
/// straight into the connection's output buffer), whether repeating it is harmless, its
/// deadline, and the completion that hears the outcome exactly once.
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

    /// What goes on the wire: the caller's arguments, encoded straight into the
    /// connection's output buffer when sent, or bytes encoded once already.
    enum Payload {
        case arguments([String])
        case encoded([UInt8])
    }

    let payload: Payload
    /// Safe to repeat (a read, or a write guarded by a condition): a lost reply does not
    /// leave its outcome unknown.
    package let isIdempotent: Bool
    /// ASKING rides in front of it (a cluster ASK redirect); its reply is read and dropped.
    let sendsAsking: Bool
    /// Replies the caller's bytes draw before the one that completes it: MULTI and the
    /// commands it queues, ahead of EXEC. The first error among them (a redirect queued
    /// inside a transaction) completes the command in place of EXEC's EXECABORT.
    package let leadingReplies: Int
    /// Its reply, when an array, comes back as `.encodedArray` (the caller reads it with
    /// `RESPReader`) rather than built element by element.
    package let keepsArrayReplyEncoded: Bool
    /// The first error among the leading replies.
    @exclusivity(unchecked) var leadingError: String?
    /// A write acknowledged only once its master's replicas have it (see `ReplicaWait`).
    package let waitsForReplicas: Bool
    /// Set by the node that accepts it, when `waitsForReplicas`.
    @exclusivity(unchecked) var replicaWait: ReplicaWait?
    /// The write's own reply, held until WAIT's arrives.
    @exclusivity(unchecked) var ownReply: RESPValue?
    /// The deadline, counted from acceptance by a node. A write held for its node's
    /// replica count is given what is left of it when the count arrives.
    @exclusivity(unchecked) var timeoutMs: UInt64
    // No run-time exclusivity checks on the fields the data path touches: they are only
    // assigned, never held across a call (see Node for the measurement).
    @exclusivity(unchecked) private var completion: Completion?
    @exclusivity(unchecked) private var outcome: Result<RESPValue, StoreError>?
    private var routingCache: CommandRouting?
    private var readOnlyCache: Bool?
    @exclusivity(unchecked) var state = State.new
    @exclusivity(unchecked) unowned(unsafe) var node: Node?
    /// The connection carrying it; meaningful only while `state == .sent` (the connection
    /// settles every command it holds before it goes away).
    @exclusivity(unchecked) unowned(unsafe) var connection: BackendConnection?
    @exclusivity(unchecked) package var deadlineHeapIndex = -1

    /// `slot` pins a keyless command (SCAN) to the node serving that slot.
    package init(
        _ arguments: [String], idempotent: Bool, timeoutMs: UInt64, slot: Int? = nil, completion: @escaping Completion
    ) {
        self.payload = .arguments(arguments)
        self.isIdempotent = idempotent
        self.sendsAsking = false
        self.routingCache = slot.map { .slot($0) }
        self.leadingReplies = 0
        self.keepsArrayReplyEncoded = false
        self.waitsForReplicas = false
        self.timeoutMs = timeoutMs
        self.completion = completion
    }

    package convenience init(
        encoded: [UInt8], idempotent: Bool, timeoutMs: UInt64, routing: CommandRouting = .keyless,
        readOnly: Bool = false, leadingReplies: Int = 0, keepsArrayReplyEncoded: Bool = false,
        waitsForReplicas: Bool = false, completion: @escaping Completion
    ) {
        self.init(
            payload: .encoded(encoded), asking: false, idempotent: idempotent, timeoutMs: timeoutMs, routing: routing,
            readOnly: readOnly, leadingReplies: leadingReplies, keepsArrayReplyEncoded: keepsArrayReplyEncoded,
            waitsForReplicas: waitsForReplicas, completion: completion)
    }

    init(
        payload: Payload, asking: Bool, idempotent: Bool, timeoutMs: UInt64, routing: CommandRouting, readOnly: Bool,
        leadingReplies: Int = 0, keepsArrayReplyEncoded: Bool = false, waitsForReplicas: Bool = false,
        completion: @escaping Completion
    ) {
        self.payload = payload
        self.sendsAsking = asking
        self.isIdempotent = idempotent
        self.routingCache = routing
        self.readOnlyCache = readOnly
        self.leadingReplies = leadingReplies
        self.keepsArrayReplyEncoded = keepsArrayReplyEncoded
        self.waitsForReplicas = waitsForReplicas
        self.timeoutMs = timeoutMs
        self.completion = completion
    }

    /// Where it goes in a cluster (ignored by a single node), worked out on first use:
    /// a single node never pays for hashing the key.
    package var routing: CommandRouting {
        if let routingCache { return routingCache }
        let routing: CommandRouting =
            if case .arguments(let arguments) = payload { CommandRouting(arguments: arguments) } else { .keyless }
        routingCache = routing
        return routing
    }

    /// A replica in READONLY mode may answer it.
    package var isReadOnly: Bool {
        if let readOnlyCache { return readOnlyCache }
        let readOnly =
            if case .arguments(let arguments) = payload { CommandRouting.isReadOnly(arguments) } else { false }
        readOnlyCache = readOnly
        return readOnly
    }

    private static let askingBytes: [UInt8] = Array("*1\r\n$6\r\nASKING\r\n".utf8)

    /// Appends the command's bytes (ASKING first when it rides in front, WAIT behind when
    /// it waits for replicas) to `buffer`.
    func encode(into buffer: inout [UInt8], nowMs: UInt64) {
        if sendsAsking { buffer.append(contentsOf: Self.askingBytes) }
        switch payload {
        case .arguments(let arguments): RESPEncoder.appendCommand(arguments, to: &buffer)
        case .encoded(let bytes): buffer.append(contentsOf: bytes)
        }
        replicaWait?.appendCommand(nowMs: nowMs, to: &buffer)
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
