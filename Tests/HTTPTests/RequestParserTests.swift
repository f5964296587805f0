import Foundation
import HTTP
import XCTest

/// Collects what the parser reports, for tests without sockets.
private final class Collector: RequestParserDelegate {
    var requests: [HTTPRequest] = []
    var heads = 0
    var continues = 0
    var pauseAfterEach = false

    func parserDidBeginRequest() {}
    func parserDidParseHead(expectsBody: Bool, expectsContinue: Bool) {
        heads += 1
        if expectsContinue { continues += 1 }
    }
    func parserDidParseRequest(_ request: consuming HTTPRequest) -> Bool {
        requests.append(request)
        return pauseAfterEach
    }
}

private struct ParseOutcome: Equatable {
    var requests: [String]
    var error: HTTPError?
}

nonisolated(unsafe) private let settings = ParserSettings()

/// Feeds `chunks` one after another into a fresh parser.
private func parse(_ chunks: [[UInt8]], limits: HTTPLimits = HTTPLimits()) -> ParseOutcome {
    let collector = Collector()
    let parser = RequestParser(settings: limits == HTTPLimits() ? settings : ParserSettings(limits: limits))
    parser.delegate = collector
    for chunk in chunks {
        let result = chunk.withUnsafeBytes { parser.feed($0) }
        if case .failed(let error) = result {
            return ParseOutcome(requests: collector.requests.map(describe), error: error)
        }
        if case .unknownMethod(let request) = result {
            return ParseOutcome(
                requests: collector.requests.map(describe) + ["unknown method \(request.method) \(request.target)"],
                error: nil)
        }
    }
    return ParseOutcome(requests: collector.requests.map(describe), error: nil)
}

private func describe(_ request: HTTPRequest) -> String {
    let headers = request.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ";")
    return "\(request.method) \(request.target) \(request.versionMajor).\(request.versionMinor) [\(headers)] "
        + "\(String(decoding: request.body, as: UTF8.self)) keepAlive=\(request.keepAlive)"
}

final class RequestParserTests: XCTestCase {
    static let samples: [String] = [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /v1/kv/ns/set/key?bins=a,b HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Empty:\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
        "GET /old HTTP/1.0\r\n\r\n",
        "GET /close HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
        "GET /utf8/%C3%A9 HTTP/1.1\r\nHost: a\r\nX-Obs: caf\u{e9}\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nDELETE /c HTTP/1.1\r\nHost: a\r\n\r\n",
    ]

    func testEverySampleSplitAtEveryByteGivesTheSameRequests() {
        for sample in Self.samples {
            let bytes = Array(sample.utf8)
            let whole = parse([bytes])
            XCTAssertNil(whole.error, sample)
            XCTAssertFalse(whole.requests.isEmpty, sample)
            for cut in 1..<bytes.count {
                XCTAssertEqual(
                    parse([Array(bytes[..<cut]), Array(bytes[cut...])]), whole, "cut at \(cut) of \(sample)")
            }
            XCTAssertEqual(parse(bytes.map { [$0] }), whole, "byte by byte: \(sample)")
        }
    }

    func testParsedFields() {
        let outcome = parse([Array(Self.samples[3].utf8)])
        XCTAssertEqual(
            outcome.requests, ["POST /echo 1.1 [Host=a;Transfer-Encoding=chunked] hello world keepAlive=true"],
            "trailer fields are not merged into the headers")
        XCTAssertEqual(
            parse([Array(Self.samples[4].utf8)]).requests, ["GET /old 1.0 []  keepAlive=false"])
        XCTAssertEqual(
            parse([Array(Self.samples[5].utf8)]).requests.first?.hasSuffix("keepAlive=false"), true)
    }

    func testPauseStopsAfterTheRequestAndResumesWhereItStopped() {
        let bytes = Array(Self.samples[8].utf8)
        let collector = Collector()
        collector.pauseAfterEach = true
        let parser = RequestParser(settings: settings)
        parser.delegate = collector
        var rest = bytes
        var pauses = 0
        while true {
            let result = rest.withUnsafeBytes { parser.feed($0) }
            guard case .paused(let consumed) = result else {
                XCTAssertEqual(result, .consumedAll)
                break
            }
            pauses += 1
            rest = Array(rest[consumed...])
            parser.resume()
        }
        XCTAssertEqual(collector.requests.map(\.target), ["/a", "/b", "/c"])
        XCTAssertEqual(pauses, 3)
    }

    func testExpectContinueIsReportedOnlyWithABody() {
        let collector = Collector()
        let parser = RequestParser(settings: settings)
        parser.delegate = collector
        _ = Array(Self.samples[6].utf8).withUnsafeBytes { parser.feed($0) }
        XCTAssertEqual(collector.continues, 1)
    }

    func testLimits() {
        var limits = HTTPLimits()
        limits.maxRequestTargetBytes = 100
        limits.maxHeaderFieldBytes = 200
        limits.maxHeaderBytes = 1000
        limits.maxHeaderCount = 10
        limits.maxBodyBytes = 50
        func error(_ text: String) -> Int? { parse([Array(text.utf8)], limits: limits).error?.status }

        XCTAssertNil(error("GET /\(String(repeating: "a", count: 98)) HTTP/1.1\r\nHost: a\r\n\r\n"))
        XCTAssertEqual(error("GET /\(String(repeating: "a", count: 100)) HTTP/1.1\r\nHost: a\r\n\r\n"), 414)
        XCTAssertEqual(error("GET / HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: 200))\r\n\r\n"), 431)
        let many = (0..<10).map { "X-\($0): 1\r\n" }.joined()
        XCTAssertEqual(error("GET / HTTP/1.1\r\nHost: a\r\n\(many)\r\n"), 431)
        let large = (0..<6).map { "X-\($0): \(String(repeating: "v", count: 190))\r\n" }.joined()
        XCTAssertEqual(error("GET / HTTP/1.1\r\nHost: a\r\n\(large)\r\n"), 431)
        XCTAssertEqual(error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 51\r\n\r\n"), 413, "413 before the body")
        XCTAssertNil(
            error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\n\(String(repeating: "b", count: 50))"))
        let chunks =
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + String(repeating: "a\r\n0123456789\r\n", count: 6)
        XCTAssertEqual(error(chunks), 413, "chunked body refused as soon as it passes the limit")
    }

    /// RFC 9112 shapes that must be refused, with the status each gets.
    static let refused: [(String, Int)] = [
        ("GET / HTTP/1.1\r\n\r\n", 400),  // no Host
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),  // two Hosts
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),  // two equal Hosts
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400),
        ("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400
        ),
        // chunked not last
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-Fold:\r\n b\r\n\r\n", 400),  // obs-fold of an empty value
        ("GET / HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n\tb\r\n\r\n", 400),  // obs-fold with a tab
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\n\r\n", 400),  // obs-fold
        ("GET / HTTP/1.1\nHost: a\n\n", 400),  // bare LF
        ("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400),  // bare CR
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", 400),  // NUL in a value
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1}b\r\n\r\n", 400),  // control byte in a value
        ("GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n", 400),  // space before colon
        ("GET / HTTP/1.1\r\nHost: a\r\n X: b\r\n\r\n", 400),  // leading whitespace line
        // an empty Transfer-Encoding field before the real one (found by fuzzing)
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: ,\r\n\r\n0\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\n: 19\r\n\r\n", 400),  // no field name (fuzz: regression-empty-field-name)
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n: t\r\n\r\n", 400),  // nor in a trailer
        ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
        ("GET / FOO/1.1\r\nHost: a\r\n\r\n", 400),
        ("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417),
        ("\u{16}\u{3}\u{1}\u{0}\u{a5}\u{1}", 400),  // a TLS ClientHello
    ]

    func testRefusedShapes() {
        for (text, status) in Self.refused {
            let outcome = parse([Array(text.utf8)])
            XCTAssertEqual(outcome.error?.status, status, "\(text.debugDescription) → \(outcome)")
            XCTAssertTrue(outcome.requests.isEmpty, "nothing executed for \(text.debugDescription)")
            for cut in stride(from: 1, to: text.utf8.count, by: 1) {
                let bytes = Array(text.utf8)
                let split = parse([Array(bytes[..<cut]), Array(bytes[cut...])])
                XCTAssertEqual(split.error?.status, status, "cut at \(cut): \(text.debugDescription)")
            }
        }
    }

    func testEveryByteInAHeaderValue() {
        for byte in 0...255 where byte != 13 && byte != 10 {
            let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX: a".utf8) + [UInt8(byte)] + Array("b\r\n\r\n".utf8)
            let outcome = parse([bytes])
            let allowed = byte == 9 || (byte >= 0x20 && byte != 0x7F)
            XCTAssertEqual(outcome.error == nil, allowed, "byte \(byte)")
        }
    }

    func testEveryByteInAHeaderName() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in 0...255 where byte != UInt8(ascii: ":") {
            let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX".utf8) + [UInt8(byte)] + Array("Y: b\r\n\r\n".utf8)
            let outcome = parse([bytes])
            XCTAssertEqual(outcome.error == nil, tchar.contains(UInt8(byte)), "byte \(byte)")
        }
    }

    /// Found by FuzzHTTPRequest (Fuzz/corpus/FuzzHTTPRequest/regression-unknown-method-split): an
    /// unknown method read in pieces was refused as malformed (400) where one read gave 405.
    func testAnUnknownMethodGivesTheSameAnswerHoweverItIsSplit() {
        for text in ["QOST / HTTP/1.1\r\nHost: a\r\n\r\n", "PATCHX /v1/kv/a/b/c?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"] {
            let bytes = Array(text.utf8)
            let whole = parse([bytes])
            XCTAssertEqual(whole.requests.last?.hasPrefix("unknown method "), true, text)
            for cut in 1..<bytes.count {
                XCTAssertEqual(parse([Array(bytes[..<cut]), Array(bytes[cut...])]), whole, "cut at \(cut) of \(text)")
            }
            XCTAssertEqual(parse(bytes.map { [$0] }), whole, "byte by byte: \(text)")
        }
        // Found by FuzzHTTPRequest (regression-unknown-method-after-body): the method was
        // found by scanning back from the error, into the previous request's body.
        let pipelined = Array("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nDELETE /b HTTP/1.1\r\n\r\n".utf8)
        let afterBody = parse([pipelined])
        XCTAssertEqual(afterBody.requests.last, "unknown method ETE /b")
        for cut in 1..<pipelined.count {
            XCTAssertEqual(parse([Array(pipelined[..<cut]), Array(pipelined[cut...])]), afterBody, "cut at \(cut)")
        }
        // Found by FuzzHTTPRequest (regression-unknown-method-prefix): llhttp reports a
        // partial known method (T of TRACE) through on_method only when a read ends in it.
        for method in ["T", "DEL", "PATCHX", "QOST", "PROPPATCHX", "MKCOLX", "M-SEARCHX", "X", "GETT"] {
            let bytes = Array(
                "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc\(method) /s HTTP/1.1\r\n\r\n".utf8)
            let whole = parse([bytes])
            XCTAssertEqual(whole.requests.last, "unknown method \(method) /s", method)
            for cut in 1..<bytes.count {
                XCTAssertEqual(parse([Array(bytes[..<cut]), Array(bytes[cut...])]), whole, "cut at \(cut): \(method)")
            }
            XCTAssertEqual(parse(bytes.map { [$0] }), whole, "byte by byte: \(method)")
        }
        // Not a request line, whatever the split: malformed.
        for text in ["QOST\r\n", "QOST x HTTP/1.1\r\n", String(repeating: "Q", count: 40) + " / HTTP/1.1\r\n"] {
            let bytes = Array(text.utf8)
            XCTAssertEqual(parse([bytes]).error?.status, 400, text)
            XCTAssertEqual(parse(bytes.map { [$0] }).error?.status, 400, text)
        }
    }

    /// Found by FuzzHTTPRequest (Fuzz/corpus/FuzzHTTPRequest/regression-trailing-whitespace): field
    /// values kept their trailing whitespace, so `Expect: 100-continue ` got 417 and
    /// `Content-Length: 4 ` read as a value that is not a number.
    func testFieldValuesLoseTrailingWhitespace() {
        let collector = Collector()
        let parser = RequestParser(settings: settings)
        parser.delegate = collector
        let text =
            "PUT /x HTTP/1.1\r\nHost: a \t\r\nContent-Length:04 \r\nExpect: 100-continue \r\nX-Inner: a  b\t\r\n\r\nabcd"
        XCTAssertEqual(Array(text.utf8).withUnsafeBytes { parser.feed($0) }, .consumedAll)
        XCTAssertEqual(collector.continues, 1)
        let headers = collector.requests.first?.headers
        XCTAssertEqual(headers?["Host"], "a")
        XCTAssertEqual(headers?["Content-Length"], "04")
        XCTAssertEqual(headers?["Expect"], "100-continue")
        XCTAssertEqual(headers?["X-Inner"], "a  b", "only the ends are trimmed")
        XCTAssertEqual(collector.requests.first.map { String(decoding: $0.body, as: UTF8.self) }, "abcd")
    }

    /// C stays in its shims: libuv only in EventLoop, llhttp only in RequestParser.swift.
    func testCImportsStayWhereTheyBelong() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            if text.contains("import CLibUV") {
                XCTAssertTrue(file.path.contains("/Sources/EventLoop/"), "libuv imported in \(file.path)")
            }
            if text.contains("import CLLHTTP") {
                XCTAssertTrue(
                    file.path.hasSuffix("/Sources/HTTP/RequestParser.swift"), "llhttp imported in \(file.path)")
            }
            if text.contains("import Foundation") {
                XCTFail("Foundation imported in \(file.path)")
            }
        }
    }

    /// reliability.md A1: no lenient flag is ever turned on.
    func testNoLenientFlagIsSetAnywhereInTheSources() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            XCTAssertFalse(text.contains("llhttp_set_lenient"), file.path)
            XCTAssertFalse(text.contains("lenient_flags"), file.path)
        }
    }
}
