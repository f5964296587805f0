#if canImport(Glibc)
internal import Glibc
#endif

/// A complete response: status, extra headers and body. `Date`, `Server`,
/// `Content-Length` and `Connection` are added by the serialiser.
package struct HTTPResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: [UInt8]
    /// A strong entity tag made of this number, written as `ETag: "7"` after `headers`
    /// (a record's generation): no header field is built for it.
    package var entityTag: Int?

    package init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], entityTag: Int? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.entityTag = entityTag
    }

    package init(status: Int, contentType: String, body: String) {
        self.init(status: status, headers: HTTPHeaders([("Content-Type", contentType)]), body: Array(body.utf8))
    }
}

/// Writes status lines and header blocks. Keeps, per status, the bytes every response
/// of that status starts with (status line, `Server`, `Date`), and rebuilds them when
/// the second changes.
package final class ResponseSerializer {
    private var dateSecond = -1
    private var dateValue: [UInt8] = []
    /// `HTTP/1.1 200 OK\r\nServer: storegate\r\nDate: …` by status, for this second.
    private var prefixes: [Int: [UInt8]] = [:]
    /// The last prefix used, which a run of same-status responses reuses without a lookup.
    private var lastStatus = -1
    private var lastPrefix: [UInt8] = []
    package var serverName = "storegate" {
        didSet { clearPrefixes() }
    }

    package init() {}

    /// Appends the status line and headers. `contentLength` nil means chunked; 1xx, 204
    /// and 304 carry neither (they never have a body).
    package func appendHead(
        status: Int, headers: HTTPHeaders, entityTag: Int? = nil, contentLength: Int?, close: Bool,
        requestID: String = "", to out: inout [UInt8]
    ) {
        let bodyless = status < 200 || status == 204 || status == 304
        let prefix = prefix(status)
        var requestID = requestID
        // Written into scratch memory sized exactly, then appended to `out` in one piece.
        let framing = bodyless ? 0 : contentLength == nil ? 28 : 18 + 20
        let capacity =
            prefix.count + framing + (close ? 19 : 0) + 16 + requestID.utf8.count
            + headers.serializedByteCount + (entityTag == nil ? 0 : 31) + 4
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { scratch in
            var head = ByteWriter(scratch)
            head.write(prefix)
            if bodyless {
                // no framing header at all
            } else if let contentLength {
                head.write("\r\nContent-Length: ")
                head.writeDecimal(contentLength)
            } else {
                head.write("\r\nTransfer-Encoding: chunked")
            }
            if close { head.write("\r\nConnection: close") }
            if !requestID.isEmpty {
                head.write("\r\nX-Request-Id: ")
                requestID.withUTF8 { head.write($0) }
            }
            headers.serialize(to: &head)
            if let entityTag {
                head.write("\r\nETag: \"")
                if entityTag < 0 { head.write("-") }
                head.writeDecimal(entityTag.magnitude)
                head.write("\"")
            }
            head.write("\r\n\r\n")
            out.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<head.count]))
        }
    }

    /// The status line, `Server` and `Date`, for this second.
    private func prefix(_ status: Int) -> [UInt8] {
        let now = time(nil)
        if now != dateSecond {
            dateSecond = now
            dateValue = Array(Self.imfFixdate(now).utf8)
            clearPrefixes()
        }
        if status != lastStatus {
            lastStatus = status
            lastPrefix = prefixes[status] ?? makePrefix(status)
        }
        return lastPrefix
    }

    private func makePrefix(_ status: Int) -> [UInt8] {
        var prefix: [UInt8] = []
        append("HTTP/1.1 ", to: &prefix)
        appendDecimal(status, to: &prefix)
        prefix.append(0x20)
        append(Self.reason(status), to: &prefix)
        append("\r\nServer: ", to: &prefix)
        append(serverName, to: &prefix)
        append("\r\nDate: ", to: &prefix)
        prefix.append(contentsOf: dateValue)
        prefixes[status] = prefix
        return prefix
    }

    private func clearPrefixes() {
        prefixes.removeAll(keepingCapacity: true)
        lastStatus = -1
        lastPrefix = []
    }

    @inline(__always) private func append(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always) private func append(_ text: String, to out: inout [UInt8]) {
        if let done: Void = text.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) { return done }
        out.append(contentsOf: text.utf8)
    }

    package func appendChunk(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        appendHex(bytes.count, to: &out)
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: bytes)
        out.append(contentsOf: "\r\n".utf8)
    }

    package func appendLastChunk(to out: inout [UInt8]) {
        out.append(contentsOf: "0\r\n\r\n".utf8)
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7).
    package static func imfFixdate(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    package static func reason(_ status: Int) -> StaticString {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }
}

package func appendDecimal(_ value: Int, to out: inout [UInt8]) {
    if value < 0 {
        out.append(UInt8(ascii: "-"))
        appendDecimal(-value, to: &out)
        return
    }
    if value < 10 {
        out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
        return
    }
    // Digits into a stack buffer, then one append.
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
        var rest = value
        var index = 20
        while rest > 0 {
            index -= 1
            digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[index...]))
    }
}

/// Writes into memory sized beforehand (the caller counts what it will write).
struct ByteWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    @inline(__always) mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        precondition(count + bytes.count <= capacity)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    @inline(__always) mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { write($0) }
    }

    @inline(__always) mutating func write(_ text: StaticString) {
        write(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Little-endian, as `HTTPHeaders` stores its lengths.
    @inline(__always) mutating func writeUInt32(_ value: UInt32) {
        precondition(count + 4 <= capacity)
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.littleEndian, as: UInt32.self)
        count += 4
    }

    /// At most 20 bytes.
    mutating func writeDecimal(_ value: Int) {
        precondition(value >= 0)
        writeDecimal(UInt(value))
    }

    /// At most 20 bytes.
    mutating func writeDecimal(_ value: UInt) {
        precondition(count + 20 <= capacity)
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        rest = value
        for index in stride(from: count + digits - 1, through: count, by: -1) {
            base[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        count += digits
    }
}

func appendHex(_ value: Int, to out: inout [UInt8]) {
    if value >= 16 { appendHex(value / 16, to: &out) }
    let digit = UInt8(value % 16)
    out.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
}
