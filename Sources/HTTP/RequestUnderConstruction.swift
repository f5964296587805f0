/// The request `RequestParser` is building from llhttp's spans, and the state of its
/// obs-fold checks. One stored value, so each llhttp callback changes it through a
/// single access to the parser (a class property costs a runtime exclusivity check per
/// access). Buffers hold bytes only while a request is being parsed.
struct RequestUnderConstruction {
    /// The whole head in one buffer: the method, the target, then the header fields in
    /// `HTTPHeaders`' layout, which the finished request takes over without a copy.
    private var head: [UInt8] = []
    private var methodLength = 0
    private var targetLength = 0
    private var fieldCount = 0
    /// Where the field being received starts (its length prefix), while there is one.
    private var fieldPrefix: Int?
    private var nameLength = 0
    var headerBytes = 0
    var inTrailers = false
    // obs-fold detection: llhttp 8 accepts a folded line and reports the value in two
    // spans with the CRLF between them skipped; a gap between spans of one value, or a
    // value that resumes in a new read after a read ending in LF, is a fold.
    private var feedBase: UnsafePointer<CChar>?
    private var previousFeedEndedWithLF = false
    private var lastValueEnd: UnsafePointer<CChar>?
    private var valueStarted = false
    // A fold right after an empty value leaves no first span: look for a LF between
    // the end of the name and the first value span instead.
    private var nameEnd: UnsafePointer<CChar>?
    private var awaitingFirstValueSpan = false
    private var lineFeedSinceName = false

    mutating func beginFeed(_ base: UnsafePointer<CChar>) {
        feedBase = base
        lastValueEnd = nil
    }

    mutating func endFeed(_ base: UnsafePointer<CChar>, count: Int) {
        previousFeedEndedWithLF = count > 0 && base[count - 1] == 0x0A
        if awaitingFirstValueSpan, Self.containsLineFeed(from: nameEnd ?? base, to: base + count) {
            lineFeedSinceName = true
        }
        feedBase = nil
        nameEnd = nil
    }

    var requestLineBytes: Int { methodLength + targetLength }

    /// The method bytes received so far (the unknown-method path reads them).
    var methodBytes: [UInt8] { Array(head[..<methodLength]) }

    var hasMethod: Bool { methodLength > 0 }

    var method: String { String(decoding: head[..<methodLength], as: UTF8.self) }

    var target: String { String(decoding: head[methodLength..<requestLineBytes], as: UTF8.self) }

    /// The complete fields so far (a view sharing the buffer).
    var headers: HTTPHeaders { HTTPHeaders(storage: head, start: requestLineBytes, count: fieldCount) }

    mutating func appendMethod(_ at: UnsafePointer<CChar>?, _ length: Int) {
        guard Self.append(at, length, to: &head) else { return }
        methodLength += length
    }

    mutating func appendTarget(_ at: UnsafePointer<CChar>?, _ length: Int, limits: HTTPLimits) -> HTTPError? {
        guard targetLength + length <= limits.maxRequestTargetBytes else { return .uriTooLong }
        guard Self.append(at, length, to: &head) else { return nil }
        targetLength += length
        return nil
    }

    mutating func appendFieldName(_ at: UnsafePointer<CChar>?, _ length: Int, limits: HTTPLimits) -> HTTPError? {
        let prefix = beginFieldIfNeeded()
        if Self.append(at, length, to: &head) { nameLength += length }
        if let at {
            nameEnd = at + length
            awaitingFirstValueSpan = true
            lineFeedSinceName = false
        }
        return checkFieldSize(prefix, adding: length, limits: limits)
    }

    mutating func appendFieldValue(_ at: UnsafePointer<CChar>?, _ length: Int, limits: HTTPLimits) -> HTTPError? {
        guard let at, length > 0 else { return nil }
        if awaitingFirstValueSpan {
            awaitingFirstValueSpan = false
            if lineFeedSinceName || Self.containsLineFeed(from: nameEnd ?? feedBase ?? at, to: at) {
                return .malformed("obsolete line folding in header field")
            }
        }
        if valueStarted {
            let folded = lastValueEnd.map { $0 != at } ?? (at != feedBase || previousFeedEndedWithLF)
            if folded { return .malformed("obsolete line folding in header field") }
        }
        valueStarted = true
        lastValueEnd = at + length
        let prefix = beginFieldIfNeeded()
        Self.append(at, length, to: &head)
        return checkFieldSize(prefix, adding: length, limits: limits)
    }

    private mutating func beginFieldIfNeeded() -> Int {
        if let fieldPrefix { return fieldPrefix }
        let prefix = head.count
        HTTPHeaders.appendPrefix(to: &head)
        fieldPrefix = prefix
        nameLength = 0
        return prefix
    }

    private mutating func checkFieldSize(_ prefix: Int, adding length: Int, limits: HTTPLimits) -> HTTPError? {
        headerBytes += length
        let fieldBytes = head.count - prefix - HTTPHeaders.prefixBytes
        guard fieldBytes <= limits.maxHeaderFieldBytes, headerBytes <= limits.maxHeaderBytes
        else { return .headersTooLarge }
        return nil
    }

    /// The field is whole: check it and add it to the headers (trailer fields are
    /// size-checked but never merged into the headers).
    mutating func completeField(limits: HTTPLimits) -> HTTPError? {
        valueStarted = false
        awaitingFirstValueSpan = false
        lastValueEnd = nil
        // llhttp 8 accepts a line ": value"; a field name is a token, one byte at least.
        guard let prefix = fieldPrefix, nameLength > 0 else {
            dropField()
            return .malformed("header field without a name")
        }
        guard !inTrailers else {
            dropField()
            return nil
        }
        guard fieldCount < limits.maxHeaderCount else {
            dropField()
            return .tooManyHeaders
        }
        let valueStart = prefix + HTTPHeaders.prefixBytes + nameLength
        // NUL, CR, LF and other controls in a value are a smuggling vector whatever llhttp allowed.
        let hasControl = head.withUnsafeBufferPointer { bytes in
            bytes[valueStart...].contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
        }
        if hasControl {
            let name = String(decoding: head[prefix + HTTPHeaders.prefixBytes..<valueStart], as: UTF8.self)
            dropField()
            return .malformed("control character in header field '\(name)'")
        }
        // RFC 9110 §5.5: a field value has no trailing whitespace; llhttp 8 strips only the leading.
        var end = head.count
        while end > valueStart, head[end - 1] == 0x20 || head[end - 1] == 0x09 { end -= 1 }
        if end < head.count { head.removeSubrange(end...) }
        HTTPHeaders.setLengths(&head, at: prefix, name: nameLength, value: end - valueStart)
        fieldCount += 1
        fieldPrefix = nil
        return nil
    }

    /// Forgets the field being received (a trailer, or one refused).
    private mutating func dropField() {
        if let prefix = fieldPrefix { head.removeSubrange(prefix...) }
        fieldPrefix = nil
        nameLength = 0
    }

    /// The head is complete: what follows the body is trailer fields.
    mutating func enterTrailers() {
        dropField()
        inTrailers = true
    }

    /// The finished head, handed on with the request; the next request starts empty.
    mutating func takeHeaders() -> HTTPHeaders {
        let headers = HTTPHeaders(storage: head, start: requestLineBytes, count: fieldCount)
        head = []
        return headers
    }

    /// The request was handed on: the next one starts empty.
    mutating func reset() {
        head = []
        methodLength = 0
        targetLength = 0
        fieldCount = 0
        fieldPrefix = nil
        nameLength = 0
        headerBytes = 0
        inTrailers = false
    }

    private static func containsLineFeed(from start: UnsafePointer<CChar>, to end: UnsafePointer<CChar>) -> Bool {
        guard start < end else { return false }
        return UnsafeBufferPointer(start: start, count: end - start).contains(0x0A)
    }

    @discardableResult
    private static func append(_ at: UnsafePointer<CChar>?, _ length: Int, to buffer: inout [UInt8]) -> Bool {
        guard let at, length > 0 else { return false }
        if buffer.capacity == 0 { buffer.reserveCapacity(Swift.max(256, length)) }  // one allocation for a typical head
        at.withMemoryRebound(to: UInt8.self, capacity: length) {
            buffer.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
        }
        return true
    }
}
