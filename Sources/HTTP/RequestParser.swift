internal import CLLHTTP

/// Hears each parsed request; owned by `HTTPConnection`.
package protocol RequestParserDelegate: AnyObject {
    /// The first byte of a new request arrived.
    func parserDidBeginRequest()
    /// The head is complete and valid; `expectsBody` tells whether body bytes follow.
    func parserDidParseHead(expectsBody: Bool, expectsContinue: Bool)
    /// A whole request arrived. Return true to pause parsing: `feed` then returns
    /// `.paused` right after this request, and the caller acts on it (and resumes)
    /// once llhttp has returned.
    func parserDidParseRequest(_ request: consuming HTTPRequest) -> Bool
}

/// The llhttp callback table, built once per server and shared by every parser.
package final class ParserSettings {
    let raw: UnsafeMutablePointer<llhttp_settings_t>
    /// Shared by every parser of the server, so no parser carries its own copy.
    package let limits: HTTPLimits

    package init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
        raw = .allocate(capacity: 1)
        llhttp_settings_init(raw)
        raw.pointee.on_message_begin = { RequestParser.withOwner($0) { $0.didBeginMessage() } }
        raw.pointee.on_url = { parser, at, length in RequestParser.withOwner(parser) { $0.didReceiveTarget(at, length) }
        }
        raw.pointee.on_method = { parser, at, length in
            RequestParser.withOwner(parser) { $0.didReceiveMethod(at, length) }
        }
        raw.pointee.on_header_field = { parser, at, length in
            RequestParser.withOwner(parser) { $0.didReceiveFieldName(at, length) }
        }
        raw.pointee.on_header_value = { parser, at, length in
            RequestParser.withOwner(parser) { $0.didReceiveFieldValue(at, length) }
        }
        raw.pointee.on_header_value_complete = { RequestParser.withOwner($0) { $0.didCompleteField() } }
        raw.pointee.on_headers_complete = { RequestParser.withOwner($0) { $0.didCompleteHead() } }
        raw.pointee.on_body = { parser, at, length in RequestParser.withOwner(parser) { $0.didReceiveBody(at, length) }
        }
        raw.pointee.on_message_complete = { RequestParser.withOwner($0) { $0.didCompleteMessage() } }
    }

    deinit { raw.deallocate() }
}

/// One connection's llhttp parser in strict mode (no lenient flag is ever set), plus
/// the checks llhttp leaves to its user: Host present exactly once, no
/// Transfer-Encoding in HTTP/1.0, exactly one `chunked` coding, no control bytes in
/// field values, and every size and count limit. The request under construction is
/// the only buffered state; it is released when the request is handed on.
package final class RequestParser {
    package enum FeedResult: Equatable {
        case consumedAll
        /// The delegate paused; bytes from `consumed` on were not parsed.
        case paused(consumed: Int)
        case failed(HTTPError)
        /// A well-formed method llhttp does not know (e.g. QUERY on llhttp 8). The
        /// request line is all that is known; answer it (the router's 405/404) and close.
        case unknownMethod(HTTPRequest)

        package static func == (lhs: FeedResult, rhs: FeedResult) -> Bool {
            switch (lhs, rhs) {
            case (.consumedAll, .consumedAll): true
            case (.paused(let a), .paused(let b)): a == b
            case (.failed(let a), .failed(let b)): a == b
            case (.unknownMethod(let a), .unknownMethod(let b)): a.method == b.method && a.target == b.target
            default: false
            }
        }
    }

    /// Unowned without checks: the delegate owns the parser (a checked `unowned` load
    /// costs a runtime call on every callback).
    package unowned(unsafe) var delegate: (any RequestParserDelegate)!
    private let parser: UnsafeMutablePointer<llhttp_t>
    private let settings: ParserSettings
    private var limits: HTTPLimits { settings.limits }

    /// The request being parsed, and the obs-fold checks' state.
    private var building = RequestUnderConstruction()
    private var body: [UInt8] = []
    private var failure: HTTPError?
    package private(set) var currentRequestID = ""
    private let ids: RequestIDGenerator
    package private(set) var isInsideRequest = false
    /// llhttp is running (inside `feed`): its callbacks record, they never dispatch.
    package private(set) var isExecuting = false
    /// After llhttp refused the method: the request line so far, until it is complete
    /// (then `.unknownMethod`) or malformed.
    private var unknownMethodLine: [UInt8]?

    package init(settings: ParserSettings, ids: RequestIDGenerator = RequestIDGenerator()) {
        self.settings = settings
        self.ids = ids
        parser = .allocate(capacity: 1)
        llhttp_init(parser, HTTP_REQUEST, settings.raw)
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { parser.deallocate() }

    /// As good as new, with no delegate: lets a pool lend one parser to connection after
    /// connection, so an idle connection holds none.
    package func reset() {
        llhttp_reset(parser)
        delegate = nil
        building = RequestUnderConstruction()
        body = []
        failure = nil
        currentRequestID = ""
        isInsideRequest = false
        isExecuting = false
        unknownMethodLine = nil
    }

    /// Runs a callback on the parser llhttp is executing, without retaining it: the
    /// connection holds it for the whole of `feed`.
    @inline(__always)
    static func withOwner(_ parser: UnsafeMutablePointer<llhttp_t>?, _ body: (RequestParser) -> Int32) -> Int32 {
        Unmanaged<RequestParser>.fromOpaque(parser!.pointee.data)._withUnsafeGuaranteedRef(body)
    }

    /// Parses `bytes`; calls the delegate for each request found.
    package func feed(_ bytes: UnsafeRawBufferPointer) -> FeedResult {
        if unknownMethodLine != nil {
            unknownMethodLine!.append(contentsOf: bytes)
            return unknownMethodResult()
        }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) else { return .consumedAll }
        building.beginFeed(UnsafePointer(base))
        isExecuting = true
        let status = llhttp_execute(parser, base, bytes.count)
        isExecuting = false
        building.endFeed(UnsafePointer(base), count: bytes.count)
        switch status {
        case HPE_OK:
            return .consumedAll
        case HPE_PAUSED:
            let position = llhttp_get_error_pos(parser)
            let consumed = position.map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? bytes.count
            return .paused(consumed: consumed)
        case HPE_INVALID_METHOD where failure == nil:
            let position = llhttp_get_error_pos(parser).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? 0
            guard position >= 0, position < bytes.count else { return .failed(.malformed("invalid method")) }
            // The method so far: what on_method reported (earlier reads, or a whole known
            // method such as PATCH before the X of PATCHX), then the span llhttp had open in
            // this read (`T` of `T /`, not reported on an error). Never a scan backwards:
            // that ran into the previous request's body.
            var start = position
            if let open = parser.pointee._span_pos0 {
                let offset = UnsafeRawPointer(open) - UnsafeRawPointer(base)
                if offset >= 0, offset < position { start = offset }
            }
            unknownMethodLine = building.methodBytes + Array(bytes[start...])
            return unknownMethodResult()
        default:
            return .failed(failure ?? Self.describe(status, reason: llhttp_get_error_reason(parser)))
        }
    }

    /// Continues after `.paused`; then feed the unparsed bytes again.
    package func resume() {
        llhttp_resume(parser)
    }

    /// Signals EOF; a request cut off mid-way is an error.
    package func finish() -> HTTPError? {
        llhttp_finish(parser) == HPE_OK ? nil : .malformed("connection closed in the middle of a request")
    }

    /// The request line of an unknown method once it is complete, the same however the
    /// bytes were split into reads: `METHOD SP origin-form-target` ending in a space or
    /// control byte, or cut at the target limit. Malformed if the method is not a token of
    /// at most 32 bytes or the target is not origin-form; `.consumedAll` while it may still
    /// become a request line (held here, at most 34 bytes plus the target limit and one read).
    private func unknownMethodResult() -> FeedResult {
        guard let line = unknownMethodLine else { return .consumedAll }
        var end = 0
        while end < line.count, end <= 32, Self.isTokenByte(line[end]) { end += 1 }
        guard end > 0, end <= 32 else { return failUnknownMethod() }
        guard end < line.count else { return .consumedAll }
        guard line[end] == UInt8(ascii: " ") else { return failUnknownMethod() }
        let targetStart = end + 1
        guard targetStart < line.count else { return .consumedAll }
        guard line[targetStart] == UInt8(ascii: "/") else { return failUnknownMethod() }
        var targetEnd = targetStart
        while targetEnd < line.count, line[targetEnd] > 0x20, line[targetEnd] < 0x7F,
            targetEnd - targetStart < limits.maxRequestTargetBytes
        {
            targetEnd += 1
        }
        if targetEnd == line.count, targetEnd - targetStart < limits.maxRequestTargetBytes { return .consumedAll }
        endUnknownMethod()
        return .unknownMethod(
            HTTPRequest(
                method: String(decoding: line[..<end], as: UTF8.self),
                target: String(decoding: line[targetStart..<targetEnd], as: UTF8.self),
                keepAlive: false, id: currentRequestID.isEmpty ? ids.next() : currentRequestID))
    }

    private func failUnknownMethod() -> FeedResult {
        endUnknownMethod()
        return .failed(.malformed("invalid method"))
    }

    /// Answered: any later feed fails at once (llhttp's error is sticky, and so is `failure`).
    private func endUnknownMethod() {
        unknownMethodLine = nil
        failure = .malformed("invalid method")
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func describe(_ status: llhttp_errno_t, reason: UnsafePointer<CChar>?) -> HTTPError {
        .malformed(reason.map { String(cString: $0) } ?? "invalid HTTP message (llhttp error \(status.rawValue))")
    }

    // MARK: llhttp callbacks (each returns 0 to go on, -1 to fail, HPE_PAUSED to pause)

    private func fail(_ error: HTTPError) -> Int32 {
        if failure == nil { failure = error }
        return -1
    }

    fileprivate func didBeginMessage() -> Int32 {
        isInsideRequest = true
        currentRequestID = ids.next()
        delegate.parserDidBeginRequest()
        return 0
    }

    fileprivate func didReceiveMethod(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        building.appendMethod(at, length)
        return 0
    }

    fileprivate func didReceiveTarget(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        if let error = building.appendTarget(at, length, limits: limits) { return fail(error) }
        return 0
    }

    fileprivate func didReceiveFieldName(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        if let error = building.appendFieldName(at, length, limits: limits) { return fail(error) }
        return 0
    }

    fileprivate func didReceiveFieldValue(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        if let error = building.appendFieldValue(at, length, limits: limits) { return fail(error) }
        return 0
    }

    fileprivate func didCompleteField() -> Int32 {
        if let error = building.completeField(limits: limits) { return fail(error) }
        return 0
    }

    fileprivate func didCompleteHead() -> Int32 {
        let major = Int(parser.pointee.http_major)
        let minor = Int(parser.pointee.http_minor)
        let headFields = HeadFields(building.headers)
        if let error = validateHead(headFields, major: major, minor: minor) { return fail(error) }
        let flags = UInt32(parser.pointee.flags)
        let chunked = flags & F_CHUNKED.rawValue != 0
        let hasLength = flags & F_CONTENT_LENGTH.rawValue != 0
        if hasLength, parser.pointee.content_length > UInt64(limits.maxBodyBytes) { return fail(.bodyTooLarge) }
        let expectsBody = chunked || (hasLength && parser.pointee.content_length > 0)
        var expectsContinue = false
        if let expect = headFields.expect {
            guard asciiCaseInsensitiveEquals(expect, "100-continue") else { return fail(.expectationFailed(expect)) }
            expectsContinue = expectsBody && (major, minor) >= (1, 1)
        }
        building.enterTrailers()
        if let clientID = headFields.requestID, Self.isAcceptableRequestID(clientID) {
            currentRequestID = clientID
        }
        delegate.parserDidParseHead(expectsBody: expectsBody, expectsContinue: expectsContinue)
        return 0
    }

    /// The fields the head checks read, found in one pass over the headers.
    private struct HeadFields {
        var hosts = 0
        var transferEncodings = 0
        var expect: String?
        var requestID: String?

        init(_ headers: HTTPHeaders) {
            headers.forEachField { name, value in
                switch name.count {
                case 4 where headers.nameIs(name, "Host"):
                    hosts += 1
                case 6 where expect == nil && headers.nameIs(name, "Expect"):
                    expect = headers.string(value)
                case 12 where requestID == nil && headers.nameIs(name, "X-Request-Id"):
                    requestID = headers.string(value)
                case 17 where headers.nameIs(name, "Transfer-Encoding"):
                    transferEncodings += 1
                default:
                    break
                }
                return true
            }
        }
    }

    private func validateHead(_ fields: HeadFields, major: Int, minor: Int) -> HTTPError? {
        if major != 1 { return .versionNotSupported }
        if fields.hosts > 1 { return .duplicateHost }
        if fields.hosts == 0, (major, minor) >= (1, 1) { return .missingHost }
        guard fields.transferEncodings > 0 else { return nil }
        let encodings = building.headers.values("Transfer-Encoding")
        if (major, minor) < (1, 1) { return .transferEncodingInHTTP10 }
        // Empty list elements are ignored (RFC 9110 5.6.1), but not a second field: an
        // empty `Transfer-Encoding:` line beside `chunked` is refused like two `chunked`.
        let codings = encodings.flatMap { $0.split(separator: ",") }.map {
            String(decoding: $0.utf8.map(asciiLowercased), as: UTF8.self).trimmingSpaces()
        }.filter { !$0.isEmpty }
        if encodings.count == 1, codings == ["chunked"] { return nil }
        if let unknown = codings.first(where: { $0 != "chunked" }) {
            return .unsupportedTransferEncoding(unknown)
        }
        return .malformed("Transfer-Encoding must be exactly one 'chunked'")
    }

    fileprivate func didReceiveBody(_ at: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
        guard body.count + length <= limits.maxBodyBytes else { return fail(.bodyTooLarge) }
        guard let at, length > 0 else { return 0 }
        at.withMemoryRebound(to: UInt8.self, capacity: length) {
            body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
        }
        return 0
    }

    fileprivate func didCompleteMessage() -> Int32 {
        let request = HTTPRequest(
            method: methodName(), target: building.target,
            versionMajor: Int(parser.pointee.http_major), versionMinor: Int(parser.pointee.http_minor),
            headers: building.takeHeaders(), body: body,
            keepAlive: llhttp_should_keep_alive(parser) != 0,
            id: currentRequestID)
        building.reset()
        body = []
        isInsideRequest = false
        return delegate.parserDidParseRequest(consume request) ? Int32(HPE_PAUSED.rawValue) : 0
    }

    /// The common methods as string literals (no allocation, and comparisons with
    /// literals succeed on identity); others as received.
    private func methodName() -> String {
        switch llhttp_method_t(UInt32(parser.pointee.method)) {
        case HTTP_GET: "GET"
        case HTTP_HEAD: "HEAD"
        case HTTP_POST: "POST"
        case HTTP_PUT: "PUT"
        case HTTP_DELETE: "DELETE"
        case HTTP_PATCH: "PATCH"
        case HTTP_OPTIONS: "OPTIONS"
        case let other:
            building.hasMethod ? building.method : String(cString: llhttp_method_name(other))
        }
    }

    /// A client's X-Request-Id is kept when it is 1–128 of A–Z a–z 0–9 . _ - : ; else one is generated.
    private static func isAcceptableRequestID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"),
                    UInt8(ascii: ":"):
                    true
                default: false
                }
            }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        let trimmed = self.drop { $0 == " " || $0 == "\t" }
        return String(trimmed.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Request ids unique within the process: a random prefix per process and a counter.
/// Built straight into the string's storage (small enough to live inline: no allocation).
package final class RequestIDGenerator {
    private let prefix: [UInt8]
    private var sequence: UInt64 = 0

    package init() {
        var random = SystemRandomNumberGenerator()
        prefix = Array((String(random.next() & 0xFFFF_FFFF, radix: 16) + "-").utf8)
    }

    package func next() -> String {
        sequence += 1
        var digits = 1
        while sequence >> (4 * UInt64(digits)) != 0, digits < 16 { digits += 1 }
        let count = prefix.count + digits
        return String(unsafeUninitializedCapacity: count) { out in
            for index in prefix.indices { out[index] = prefix[index] }
            var value = sequence
            for index in stride(from: count - 1, through: prefix.count, by: -1) {
                let digit = UInt8(truncatingIfNeeded: value & 0xF)
                out[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                value >>= 4
            }
            return count
        }
    }
}
