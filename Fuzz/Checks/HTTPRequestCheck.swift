internal import Gateway
internal import HTTP
internal import JSON

/// FuzzHTTPRequest: bytes in → the HTTP request path short of the socket: the llhttp
/// parser wrapper with its limits, driven as `HTTPConnection` drives it (pause after a
/// request, resume, feed the rest; stop after a request that closes the connection),
/// then the record routes' validation.
///
/// Input: byte 0 picks the limits (bits 0–1: default, small, tiny) and whether to pause
/// after every request (bit 2); byte 1 + 1 is the read size; the rest is the byte stream.
/// Properties: the stream read in pieces gives exactly what it gives in one read; every
/// request handed on is well-formed within the limits; every refusal is a clean 4xx/5xx
/// with a JSON error body; the route stage answers 2xx-bound or 4xx, never 5xx.
package enum HTTPRequestCheck {
    nonisolated(unsafe) static let settings: [ParserSettings] = {
        var small = HTTPLimits()
        small.maxRequestTargetBytes = 64
        small.maxHeaderFieldBytes = 128
        small.maxHeaderBytes = 512
        small.maxHeaderCount = 8
        small.maxBodyBytes = 64
        var tiny = HTTPLimits()
        tiny.maxRequestTargetBytes = 16
        tiny.maxHeaderFieldBytes = 24
        tiny.maxHeaderBytes = 48
        tiny.maxHeaderCount = 3
        tiny.maxBodyBytes = 8
        return [ParserSettings(), ParserSettings(limits: small), ParserSettings(limits: tiny), ParserSettings()]
    }()

    static let refusalStatuses: Set<Int> = [400, 413, 414, 417, 431, 501, 505]

    package static func check(_ input: [UInt8]) throws(FuzzFailure) {
        guard input.count >= 2 else { return }
        let settings = Self.settings[Int(input[0] & 3)]
        let pause = input[0] & 4 != 0
        let readSize = Int(input[1]) + 1
        let stream = Array(input.dropFirst(2))

        let whole = ParserRun.run(stream, settings: settings, readSize: max(stream.count, 1), pause: false)
        let pieces = ParserRun.run(stream, settings: settings, readSize: readSize, pause: pause)
        try require(
            whole.describedRequests == pieces.describedRequests && sameEnd(whole.end, pieces.end),
            "reads of \(readSize) bytes (pause \(pause)) differ from one read:\n\(whole.described)\nvs\n\(pieces.described)"
        )
        for failure in whole.violations + pieces.violations { throw FuzzFailure(failure) }

        for request in whole.requests {
            try checkWellFormed(request, limits: settings.limits)
            switch RequestValidation.validate(request) {
            case .success:
                break
            case .failure(let error):
                try require((400..<500).contains(error.status), "route stage answered \(error) for \(request.target)")
                try checkErrorBody(error.code, error.message, request.id)
            }
        }
        switch whole.end {
        case .refused(let error):
            try require(refusalStatuses.contains(error.status), "refused with \(error)")
            try checkErrorBody(error.code, error.message, "id")
        case .unknownMethod(let method, let target):
            try require(
                !method.isEmpty && method.utf8.count <= 32 && target.hasPrefix("/"),
                "unknown method \(method) \(target)")
        case .finished(let error):
            if let error { try require(error.status == 400, "EOF mid-request gave \(error)") }
        case .closedAfterRequest:
            try require(whole.requests.last?.keepAlive == false, "stopped after a keep-alive request")
        }
    }

    static let limitStatuses: Set<Int> = [413, 414, 431]

    /// The same end, except that a request both over a limit and malformed may be refused
    /// for either: in pieces, the limit can be passed before the byte one read fails on.
    static func sameEnd(_ a: ParserRun.End, _ b: ParserRun.End) -> Bool {
        if a == b { return true }
        guard case .refused(let x) = a, case .refused(let y) = b else { return false }
        return limitStatuses.contains(x.status) || limitStatuses.contains(y.status)
    }

    static func checkErrorBody(_ code: String, _ message: String, _ id: String) throws(FuzzFailure) {
        let body = HTTPServer.errorBody(code: code, message: message, requestID: id)
        guard case .object(let object)? = try? JSONParser.parse(body), case .object(let error)? = object["error"],
            error["message"] == .string(message)
        else { throw FuzzFailure("error body is not the Error JSON: \(body)") }
    }

    /// What the parser may hand on: llhttp strict plus the wrapper's own checks.
    static func checkWellFormed(_ request: HTTPRequest, limits: HTTPLimits) throws(FuzzFailure) {
        let label = "\(request.method) \(request.target)"
        try require(!request.method.isEmpty && request.method.utf8.allSatisfy(isTokenByte), "method of \(label)")
        try require(
            !request.target.isEmpty && request.target.utf8.count <= limits.maxRequestTargetBytes, "target of \(label)")
        try require(
            !request.target.utf8.contains { $0 <= 0x20 || $0 == 0x7F }, "control byte or space in target of \(label)")
        try require(request.versionMajor == 1 && (0...1).contains(request.versionMinor), "version of \(label)")
        let hosts = request.headers.count(of: "Host")
        try require(request.versionMinor == 0 ? hosts <= 1 : hosts == 1, "\(hosts) Host fields in \(label)")
        try require(request.headers.count <= limits.maxHeaderCount, "\(request.headers.count) fields in \(label)")
        var total = 0
        for field in request.headers {
            // Scalars, not UTF-8: a byte that is not UTF-8 is read as U+FFFD (three bytes).
            let size = field.name.unicodeScalars.count + field.value.unicodeScalars.count
            total += size
            try require(size <= limits.maxHeaderFieldBytes, "field \(field.name) of \(size) bytes in \(label)")
            try require(
                !field.name.isEmpty && field.name.utf8.allSatisfy(isTokenByte),
                "field name \(field.name.debugDescription)")
            try require(
                !field.value.unicodeScalars.contains { ($0.value < 0x20 && $0.value != 9) || $0.value == 0x7F },
                "control character in field \(field.name) of \(label)")
        }
        try require(total <= limits.maxHeaderBytes, "\(total) header bytes in \(label)")
        try require(request.body.count <= limits.maxBodyBytes, "body of \(request.body.count) bytes in \(label)")
        let encodings = request.headers.values("Transfer-Encoding")
        let lengths = request.headers.values("Content-Length")
        if !encodings.isEmpty {
            try require(request.versionMinor == 1, "Transfer-Encoding in HTTP/1.0: \(label)")
            try require(encodings.count == 1, "\(encodings.count) Transfer-Encoding fields in \(label)")
            let codings = String(decoding: encodings[0].utf8.map(asciiLowercased), as: UTF8.self).split(separator: ",")
                .map { $0.filter { $0 != " " && $0 != "\t" } }.filter { !$0.isEmpty }
            try require(codings == ["chunked"], "Transfer-Encoding \(encodings[0].debugDescription)")
            try require(lengths.isEmpty, "Content-Length with Transfer-Encoding in \(label)")
        } else if !lengths.isEmpty {
            try require(lengths.count == 1, "\(lengths.count) Content-Length fields in \(label)")
            try require(
                Int(lengths[0]) == request.body.count,
                "Content-Length \(lengths[0]) with a body of \(request.body.count) bytes")
        } else {
            try require(request.body.isEmpty, "a body without a length in \(label)")
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// One connection's worth of parsing, fed in reads of a fixed size, pausing and resuming
/// the way `HTTPConnection` does; records what the parser handed on and how it ended.
final class ParserRun: RequestParserDelegate {
    enum End: Equatable {
        case finished(HTTPError?)
        case refused(HTTPError)
        case unknownMethod(String, String)
        case closedAfterRequest
    }

    var requests: [HTTPRequest] = []
    var end = End.finished(nil)
    var violations: [String] = []
    private var headsSeen = 0
    private var begun = 0
    private let pauseAfterEach: Bool

    private init(pause: Bool) { pauseAfterEach = pause }

    static func run(_ stream: [UInt8], settings: ParserSettings, readSize: Int, pause: Bool) -> ParserRun {
        let run = ParserRun(pause: pause)
        let parser = RequestParser(settings: settings)
        parser.delegate = run
        var offset = 0
        reading: while offset < stream.count {
            var bytes = Array(stream[offset..<min(offset + readSize, stream.count)])
            offset += bytes.count
            while true {
                switch bytes.withUnsafeBytes({ parser.feed($0) }) {
                case .consumedAll:
                    continue reading
                case .paused(let consumed):
                    if run.requests.last?.keepAlive == false {
                        run.end = .closedAfterRequest
                        return run
                    }
                    parser.resume()
                    bytes = Array(bytes[consumed...])
                case .failed(let error):
                    run.end = .refused(error)
                    return run
                case .unknownMethod(let request):
                    run.end = .unknownMethod(request.method, request.target)
                    return run
                }
            }
        }
        if run.requests.last?.keepAlive == false {
            run.end = .closedAfterRequest
        } else {
            run.end = .finished(parser.finish())
        }
        return run
    }

    /// Everything observable, without the per-process request ids.
    var described: String { describedRequests + "\nend: \(end)" }

    var describedRequests: String {
        requests.map { request in
            let headers = request.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ";")
            return "\(request.method) \(request.target) \(request.versionMajor).\(request.versionMinor) [\(headers)] "
                + "\(request.body) keepAlive=\(request.keepAlive)"
        }.joined(separator: "\n")
    }

    func parserDidBeginRequest() { begun += 1 }

    func parserDidParseHead(expectsBody: Bool, expectsContinue: Bool) {
        headsSeen += 1
        if headsSeen != requests.count + 1 {
            violations.append("head \(headsSeen) reported with \(requests.count) requests done")
        }
        if expectsContinue, !expectsBody { violations.append("100-continue without a body") }
    }

    func parserDidParseRequest(_ request: consuming HTTPRequest) -> Bool {
        let keepAlive = request.keepAlive
        requests.append(request)
        if headsSeen != requests.count { violations.append("request \(requests.count) without its head") }
        if begun != requests.count { violations.append("request \(requests.count) without its begin") }
        // A request that ends the connection stops parsing (as HTTPConnection does).
        return pauseAfterEach || !keepAlive
    }
}
