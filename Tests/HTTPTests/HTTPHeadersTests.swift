import HTTP
import XCTest

/// `HTTPHeaders` keeps fields as bytes in one buffer: what goes in comes out, in order,
/// looked up case-insensitively, and serialised exactly.
final class HTTPHeadersTests: XCTestCase {
    func testFieldsComeBackInOrderAndAreFoundWhateverTheCase() {
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("X-Many", "1")])
        headers.add(name: "x-many", value: "2")
        headers.add(name: "Empty", value: "")
        headers.add(name: "Long", value: String(repeating: "v", count: 300))
        XCTAssertEqual(headers.count, 5)
        XCTAssertEqual(headers["content-TYPE"], "application/json")
        XCTAssertEqual(headers["X-MANY"], "1", "the first of several")
        XCTAssertEqual(headers.values("X-Many"), ["1", "2"])
        XCTAssertEqual(headers.count(of: "x-many"), 2)
        XCTAssertEqual(headers["Empty"], "")
        XCTAssertNil(headers["Missing"])
        XCTAssertNil(headers["Content-Typ"], "a prefix is not a match")
        XCTAssertEqual(headers["Long"]?.utf8.count, 300)
        XCTAssertTrue(headers.firstValue(of: "content-type", is: "application/json"))
        XCTAssertFalse(headers.firstValue(of: "Content-Type", is: "application/jso"), "values compare exactly")
        XCTAssertFalse(headers.firstValue(of: "Content-Type", is: "Application/JSON"), "values keep their case")
        XCTAssertTrue(headers.firstValue(of: "X-Many", is: "1"))
        XCTAssertFalse(headers.firstValue(of: "X-Many", is: "2"), "only the first field counts")
        XCTAssertTrue(headers.firstValue(of: "Empty", is: ""))
        XCTAssertFalse(headers.firstValue(of: "Missing", is: ""), "an absent field is no match")
        XCTAssertEqual(headers.map(\.name), ["Content-Type", "X-Many", "x-many", "Empty", "Long"])
        XCTAssertEqual(headers.fields.map(\.value).prefix(3), ["application/json", "1", "2"])
    }

    func testParsedFieldsKeepTheirBytesAndNamesTheirCase() {
        final class Collector: RequestParserDelegate {
            var requests: [HTTPRequest] = []
            func parserDidBeginRequest() {}
            func parserDidParseHead(expectsBody: Bool, expectsContinue: Bool) {}
            func parserDidParseRequest(_ request: consuming HTTPRequest) -> Bool {
                requests.append(request)
                return false
            }
        }
        let collector = Collector()
        let parser = RequestParser(settings: ParserSettings())
        parser.delegate = collector
        let text = "PATCH /a?b=c HTTP/1.1\r\nhOsT: h\r\nX-Obs: caf\u{e9}\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
        XCTAssertEqual(Array(text.utf8).withUnsafeBytes { parser.feed($0) }, .consumedAll)
        let request = try! XCTUnwrap(collector.requests.first)
        XCTAssertEqual(request.method, "PATCH")
        XCTAssertEqual(request.path, "/a")
        XCTAssertEqual(request.query, "b=c")
        XCTAssertEqual(request.headers.map(\.name), ["hOsT", "X-Obs", "X-A", "x-a"])
        XCTAssertEqual(request.headers["host"], "h")
        XCTAssertEqual(request.headers["X-Obs"], "caf\u{e9}")
        XCTAssertEqual(request.headers.values("X-A"), ["1", "2"])
    }
}
