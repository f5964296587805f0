/// The request `RequestParser` is building from llhttp's spans, and the state of its
/// obs-fold checks. One stored value, so each llhttp callback changes it through a
/// single access to the parser (a class property costs a runtime exclusivity check per
/// access). Buffers hold bytes only while a request is being parsed.
struct RequestUnderConstruction {
    var method: [UInt8] = []
    var target: [UInt8] = []
    var headers = HTTPHeaders()
    var fieldName: [UInt8] = []
    var fieldValue: [UInt8] = []
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

    mutating func appendMethod(_ at: UnsafePointer<CChar>?, _ length: Int) {
        Self.append(at, length, to: &method)
    }

    mutating func appendTarget(_ at: UnsafePointer<CChar>?, _ length: Int, limits: HTTPLimits) -> HTTPError? {
        guard target.count + length <= limits.maxRequestTargetBytes else { return .uriTooLong }
        Self.append(at, length, to: &target)
        return nil
    }

    mutating func appendFieldName(_ at: UnsafePointer<CChar>?, _ length: Int, limits: HTTPLimits) -> HTTPError? {
        Self.append(at, length, to: &fieldName)
        if let at {
            nameEnd = at + length
            awaitingFirstValueSpan = true
            lineFeedSinceName = false
        }
        return checkFieldSize(adding: length, limits: limits)
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
        Self.append(at, length, to: &fieldValue)
        return checkFieldSize(adding: length, limits: limits)
    }

    private mutating func checkFieldSize(adding length: Int, limits: HTTPLimits) -> HTTPError? {
        headerBytes += length
        guard fieldName.count + fieldValue.count <= limits.maxHeaderFieldBytes, headerBytes <= limits.maxHeaderBytes
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
        if fieldName.isEmpty { return .malformed("header field without a name") }
        defer {
            fieldName.removeAll(keepingCapacity: true)
            fieldValue.removeAll(keepingCapacity: true)
        }
        guard !inTrailers else { return nil }
        guard headers.count < limits.maxHeaderCount else { return .tooManyHeaders }
        // NUL, CR, LF and other controls in a value are a smuggling vector whatever llhttp allowed.
        if fieldValue.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
            return .malformed("control character in header field '\(String(decoding: fieldName, as: UTF8.self))'")
        }
        // RFC 9110 §5.5: a field value has no trailing whitespace; llhttp 8 strips only the leading.
        var end = fieldValue.count
        while end > 0, fieldValue[end - 1] == 0x20 || fieldValue[end - 1] == 0x09 { end -= 1 }
        if headers.count == 0 { headers.reserveCapacity(8) }  // one allocation for a typical request
        headers.add(
            name: String(decoding: fieldName, as: UTF8.self), value: String(decoding: fieldValue[..<end], as: UTF8.self))
        return nil
    }

    /// The head is complete: what follows the body is trailer fields.
    mutating func enterTrailers() {
        fieldName = []
        fieldValue = []
        inTrailers = true
    }

    /// The request was handed on: the next one starts empty.
    mutating func reset() {
        method = []
        target = []
        headers = HTTPHeaders()
        headerBytes = 0
        inTrailers = false
    }

    private static func containsLineFeed(from start: UnsafePointer<CChar>, to end: UnsafePointer<CChar>) -> Bool {
        guard start < end else { return false }
        return UnsafeBufferPointer(start: start, count: end - start).contains(0x0A)
    }

    private static func append(_ at: UnsafePointer<CChar>?, _ length: Int, to buffer: inout [UInt8]) {
        guard let at, length > 0 else { return }
        at.withMemoryRebound(to: UInt8.self, capacity: length) {
            buffer.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
        }
    }
}
