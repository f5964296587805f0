// RESP: the Redis protocol, and nothing but bytes. No sockets, no clock, no Foundation.
//
//   StoreCommand.encode(into:) ─RESPEncoder / RESPArguments─▶ the socket's output buffer ─▶ one write per loop turn
//   socket read ─▶ BackendConnection.streamDidRead ─feed─▶ RESPDecoder ─next()─▶ RESPValue (or, for a
//                  command that asks, its array reply still encoded, walked by RESPReader)
//                                                     settles the head of the awaiting-reply FIFO ◀─┘
//
// The decoder owns one byte buffer and a stack of the aggregates it is in the middle of. Each
// element is consumed as soon as it is complete, so a reply that arrives in pieces is never parsed
// twice; only the element at the read offset is retried, and not before enough bytes are buffered
// to finish it (a bulk header says exactly how many). The consumed prefix is cut when it passes half
// the buffer, and the buffer's storage is released once everything has been read.
//
// Every count an untrusted peer sends is bounded (RESPLimits) before anything is allocated for it,
// nesting is a heap-allocated stack capped at maxDepth, and the first protocol error is sticky: the
// connection's byte stream can no longer be trusted, so the owner must close it.

/// Caps on what a peer can make the decoder hold.
package struct RESPLimits: Sendable {
    /// Longest bulk string, bulk error or verbatim string accepted. Default 512 MiB (Redis's own cap).
    package var maxBulkLength: Int
    /// Most elements in one array, set or push, or pairs in one map. Default 1,048,576.
    package var maxElements: Int
    /// Most aggregates open inside one another. Default 32.
    package var maxDepth: Int
    /// Longest simple string, error, double or big number line (without type byte and CRLF).
    /// Default 64 KiB.
    package var maxInlineLength: Int

    package init(
        maxBulkLength: Int = 512 * 1024 * 1024,
        maxElements: Int = 1_048_576,
        maxDepth: Int = 32,
        maxInlineLength: Int = 64 * 1024
    ) {
        self.maxBulkLength = maxBulkLength
        self.maxElements = maxElements
        self.maxDepth = maxDepth
        self.maxInlineLength = maxInlineLength
    }
}

package enum RESPDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Bytes that are not RESP: bad type byte, bad digits, missing CRLF, bare LF, out-of-range integer.
    case protocolError(String)
    /// A bulk length over `maxBulkLength`; carries the length the peer sent.
    case bulkTooLong(Int)
    /// An element count over `maxElements`; carries the count the peer sent.
    case tooManyElements(Int)
    /// An aggregate that would be nested deeper than `maxDepth`; carries the depth it would have had.
    case tooDeep(Int)
    /// A line over `maxInlineLength` bytes; carries the limit (the line's end may never have arrived).
    case lineTooLong(Int)

    package var description: String {
        switch self {
        case .protocolError(let reason): return "RESP protocol error: \(reason)"
        case .bulkTooLong(let length): return "RESP bulk length \(length) over the limit"
        case .tooManyElements(let count): return "RESP aggregate of \(count) elements over the limit"
        case .tooDeep(let depth): return "RESP nesting depth \(depth) over the limit"
        case .lineTooLong(let limit): return "RESP line longer than \(limit) bytes"
        }
    }
}

/// Incremental, bounded RESP2/RESP3 reply decoder: `feed` bytes as they are read, then call `next()`
/// until it returns nil. After an error every call throws that error again and fed bytes are dropped.
package struct RESPDecoder: Sendable {
    package let limits: RESPLimits

    var buffer: [UInt8] = []
    var readIndex = 0
    /// Bytes past `readIndex` that must be buffered before the element there can be finished.
    var bytesNeeded = 0
    /// Where, relative to `readIndex`, the search for the end of the current line resumes.
    var lineScanOffset = 0
    /// The aggregates being filled, outermost first.
    var open: [Aggregate] = []
    var failure: RESPDecodeError?
    /// Where the top-level array being kept encoded starts; its elements are checked and
    /// skipped, not built. Set only while such an array is incomplete.
    var encodedStart: Int?
    /// Times an element was parsed from `readIndex`; tests use it to prove partial input is not re-parsed.
    private(set) var parseAttempts = 0

    /// Storage kept after everything was read; more is released so that an idle connection holds little.
    static let retainedCapacity = 16 * 1024

    package init(limits: RESPLimits = .init()) {
        self.limits = limits
    }

    /// Unparsed bytes held, not counting elements already decoded into a partly received aggregate.
    package var bufferedByteCount: Int { buffer.count - readIndex }

    var bufferCapacity: Int { buffer.capacity }

    package mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, !bytes.isEmpty else { return }
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    package mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The next complete reply, or nil when more bytes are needed. With
    /// `keepingArraysEncoded`, a top-level array (not a null one) comes back as
    /// `.encodedArray` with its bytes, checked against the same limits but not built; pass
    /// the same flag until that reply is complete.
    package mutating func next(keepingArraysEncoded: Bool = false) throws(RESPDecodeError) -> RESPValue? {
        if let failure { throw failure }
        guard bufferedByteCount >= max(bytesNeeded, 1) else { return nil }
        do throws(RESPDecodeError) {
            let value = try decodeReply(keepingArraysEncoded: keepingArraysEncoded)
            if readIndex == buffer.count, encodedStart == nil { releaseConsumed() }
            return value
        } catch {
            failure = error
            buffer = []
            readIndex = 0
            open = []
            encodedStart = nil
            throw error
        }
    }

    /// Parses elements until a top-level value completes or the buffer runs out.
    private mutating func decodeReply(keepingArraysEncoded: Bool) throws(RESPDecodeError) -> RESPValue? {
        while readIndex < buffer.count {
            parseAttempts += 1
            if open.isEmpty, let status = commonStatusReply() { return status }
            if encodedStart != nil, let last = open.indices.last {
                // An array kept encoded: its plain elements are skipped in one pass, then counted.
                let skipped = skipPlainEncodedElements(upTo: open[last].remaining)
                if skipped > 0 {
                    if closeFilledAggregates(skippedInInnermost: skipped) { return finished(.null) }
                    continue
                }
            }
            let start = readIndex
            guard let element = try parseElement() else { return nil }
            switch element {
            case .value(let value):
                if let reply = complete(value) { return finished(reply) }
            case .aggregateHeader(let kind, let count):
                if open.isEmpty, keepingArraysEncoded, kind == .array { encodedStart = start }
                if count > 0 {
                    open.append(Aggregate(kind: kind, count: count, keepingEncoded: encodedStart != nil))
                } else if let reply = complete(kind.emptyValue) {
                    return finished(reply)
                }
            }
        }
        return nil
    }

    /// A top-level reply, or the bytes of the array kept encoded.
    private mutating func finished(_ reply: RESPValue) -> RESPValue {
        guard let start = encodedStart else { return reply }
        encodedStart = nil
        return .encodedArray(Array(buffer[start..<readIndex]))
    }

    /// Hands a finished value to the innermost open aggregate, closing every aggregate it fills.
    /// Returns the value once it stands at top level; nil while aggregates are still open or when
    /// the value was an attribute, which is dropped.
    private mutating func complete(_ value: RESPValue?) -> RESPValue? {
        var finished = value
        while let value = finished, !open.isEmpty {
            let last = open.count - 1
            open[last].append(value)
            guard open[last].remaining == 0 else { return nil }
            finished = open.removeLast().value()
        }
        return finished
    }

    /// `complete` for elements skipped inside an array kept encoded: counts `skipped` in
    /// the innermost aggregate (at most its remaining count) and one in each it closes;
    /// returns true once that closes the outermost aggregate.
    private mutating func closeFilledAggregates(skippedInInnermost skipped: Int) -> Bool {
        var count = skipped
        while let last = open.indices.last {
            guard open[last].countSkipped(count) == 0 else { return false }
            open.removeLast()
            count = 1
        }
        return true
    }

    private mutating func compactIfWorthwhile() {
        // An array kept encoded needs its bytes from its start.
        let keepFrom = encodedStart ?? readIndex
        if keepFrom == buffer.count {
            releaseConsumed()
        } else if keepFrom > 0 && keepFrom >= buffer.count / 2 {
            buffer.removeSubrange(..<keepFrom)
            readIndex -= keepFrom
            if encodedStart != nil { encodedStart = 0 }
        }
    }

    private mutating func releaseConsumed() {
        if buffer.capacity > Self.retainedCapacity {
            buffer = []
        } else {
            buffer.removeAll(keepingCapacity: true)
        }
        readIndex = 0
    }
}

/// An array, set, push, map or attribute whose elements are still arriving.
struct Aggregate {
    enum Kind {
        case array, set, push, map, attribute

        /// The value of a zero-element aggregate; nil for an attribute, which carries no reply.
        var emptyValue: RESPValue? {
            switch self {
            case .array: return .array([])
            case .set: return .set([])
            case .push: return .push([])
            case .map: return .map([])
            case .attribute: return nil
            }
        }
    }

    /// Capacity reserved up front; a peer's count is trusted only as far as the bytes that back it.
    static let initialCapacityCap = 16

    let kind: Kind
    /// Values still expected (two per map entry).
    private(set) var remaining: Int
    /// Inside an array kept encoded: elements are counted, not kept.
    let keepingEncoded: Bool
    private var elements: [RESPValue] = []
    private var pairs: [RESPPair] = []
    private var pendingKey: RESPValue?

    init(kind: Kind, count: Int, keepingEncoded: Bool = false) {
        self.kind = kind
        self.keepingEncoded = keepingEncoded
        if keepingEncoded {
            remaining = kind == .map || kind == .attribute ? count * 2 : count
            return
        }
        switch kind {
        case .array, .set, .push:
            remaining = count
            elements.reserveCapacity(min(count, Self.initialCapacityCap))
        case .map, .attribute:
            remaining = count * 2
            if kind == .map { pairs.reserveCapacity(min(count, Self.initialCapacityCap)) }
        }
    }

    /// Counts an element skipped inside an array kept encoded; returns those still expected.
    mutating func countSkipped(_ count: Int) -> Int {
        remaining -= count
        return remaining
    }

    mutating func append(_ value: RESPValue) {
        remaining -= 1
        if keepingEncoded { return }
        switch kind {
        case .array, .set, .push:
            elements.append(value)
        case .map:
            if let key = pendingKey {
                pairs.append(RESPPair(key: key, value: value))
                pendingKey = nil
            } else {
                pendingKey = value
            }
        case .attribute:
            break
        }
    }

    /// The finished value (consumes the elements); nil for an attribute.
    consuming func value() -> RESPValue? {
        switch kind {
        case .array: return .array(elements)
        case .set: return .set(elements)
        case .push: return .push(elements)
        case .map: return .map(pairs)
        case .attribute: return nil
        }
    }
}
