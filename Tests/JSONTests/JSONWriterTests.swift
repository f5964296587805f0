import XCTest

@testable import JSON

/// Exact writer output.
final class JSONWriterTests: XCTestCase {
    private func written(_ value: JSONValue) -> String { JSONWriter.string(value) }

    func testScalars() {
        XCTAssertEqual(written(.null), "null")
        XCTAssertEqual(written(.bool(true)), "true")
        XCTAssertEqual(written(.bool(false)), "false")
        XCTAssertEqual(written(.integer(0)), "0")
        XCTAssertEqual(written(.integer(7)), "7")
        XCTAssertEqual(written(.integer(-42)), "-42")
        XCTAssertEqual(written(.integer(.max)), "9223372036854775807")
        XCTAssertEqual(written(.integer(.min)), "-9223372036854775808")
        XCTAssertEqual(written(.unsignedInteger(.max)), "18446744073709551615")
        XCTAssertEqual(written(.integer(9_007_199_254_740_993)), "9007199254740993")
    }

    func testDoubles() {
        XCTAssertEqual(written(.number(2.0)), "2.0")
        XCTAssertEqual(written(.number(-3.0)), "-3.0")
        XCTAssertEqual(written(.number(0)), "0.0")
        XCTAssertEqual(written(.number(-0.0)), "-0.0")
        XCTAssertEqual(written(.number(0.1)), "0.1")
        XCTAssertEqual(written(.number(1.5)), "1.5")
        XCTAssertEqual(written(.number(1e-7)), "1e-07")
        XCTAssertEqual(written(.number(5e20)), "5e+20")
        XCTAssertEqual(written(.number(1e16)), "1e+16")
        XCTAssertEqual(written(.number(1e15)), "1000000000000000.0")
        XCTAssertEqual(written(.number(0.1 + 0.2)), "0.30000000000000004")
        XCTAssertEqual(written(.number(.greatestFiniteMagnitude)), "1.7976931348623157e+308")
        XCTAssertEqual(written(.number(.leastNonzeroMagnitude)), "5e-324")
        XCTAssertEqual(written(.number(18_446_744_073_709_551_616.0)), "1.8446744073709552e+19")
        // Not representable in JSON: written as null.
        XCTAssertEqual(written(.number(.infinity)), "null")
        XCTAssertEqual(written(.number(-.infinity)), "null")
        XCTAssertEqual(written(.number(.nan)), "null")
    }

    func testDoublesReadBackAsDoubles() throws {
        for number in [2.0, -3.0, 0, 1e15, 9_007_199_254_740_992, 1e300, 123_456_789] {
            XCTAssertEqual(try JSONFixture.parse(written(.number(number))), .number(number), "\(number)")
        }
    }

    func testStringEscapes() {
        XCTAssertEqual(written(.string("")), #""""#)
        XCTAssertEqual(written(.string("plain")), #""plain""#)
        XCTAssertEqual(written(.string("a\"b\\c")), #""a\"b\\c""#)
        XCTAssertEqual(written(.string("\u{8}\u{C}\n\r\t")), #""\b\f\n\r\t""#)
        XCTAssertEqual(written(.string("\u{0}\u{1}\u{1F}\u{B}")), #""\u0000\u0001\u001f\u000b""#)
        XCTAssertEqual(written(.string("a/b")), #""a/b""#)
        XCTAssertEqual(written(.string("\u{7F}")), "\"\u{7F}\"")
        XCTAssertEqual(written(.string("é 日本 😀 \u{2028}")), "\"é 日本 😀 \u{2028}\"")
        XCTAssertEqual(written(.string("e\u{301}")), "\"e\u{301}\"")  // not normalized
        // Long strings: escapes at every position relative to the 8-byte blocks.
        for position in 0..<24 {
            let text = String(repeating: "x", count: position) + "\"" + String(repeating: "y", count: 24 - position)
            let expected =
                "\"" + String(repeating: "x", count: position) + "\\\"" + String(repeating: "y", count: 24 - position)
                + "\""
            XCTAssertEqual(written(.string(text)), expected)
        }
    }

    func testAppendString() {
        var bytes = Array("x=".utf8)
        JSONWriter.appendString("a\"\n", to: &bytes)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), #"x="a\"\n""#)
        var text = "y="
        JSONWriter.appendString("é\t", to: &text)
        XCTAssertEqual(text, #"y="é\t""#)
    }

    /// The String form is the one escaper of log lines and HTTP error bodies: for every
    /// text, plain or not, it writes exactly what the byte form writes, and it parses back.
    func testAppendStringToTextMatchesTheByteForm() throws {
        var samples = [
            "", "plain", "route=/v1/kv/{ns}", "é ü 日本 🍕", String(repeating: "abcdefgh", count: 9) + "\u{7F}",
        ]
        for scalar in 0..<0x20 { samples.append("a" + String(UnicodeScalar(UInt8(scalar))) + "b") }
        samples += ["\"", "\\", "x\"y\\z", "long " + String(repeating: "z", count: 40) + "\n"]
        for sample in samples {
            var bytes: [UInt8] = Array("k=".utf8)
            JSONWriter.appendString(sample, to: &bytes)
            var text = "k="
            JSONWriter.appendString(sample, to: &text)
            XCTAssertEqual(Array(text.utf8), bytes, sample.debugDescription)
            XCTAssertEqual(try JSONParser.parse(String(text.dropFirst(2))), .string(sample), sample.debugDescription)
        }
    }

    func testContainers() {
        XCTAssertEqual(written(.array([])), "[]")
        XCTAssertEqual(written(.object(JSONObject())), "{}")
        XCTAssertEqual(written(.array([.integer(1), .null, .string("x"), .array([])])), #"[1,null,"x",[]]"#)
        let object = JSONObject([
            ("z", .integer(1)), ("a", .array([.bool(true), .number(2.5)])),
            ("k\"ey", .object(JSONObject([("n", .null)]))),
        ])
        XCTAssertEqual(written(.object(object)), #"{"z":1,"a":[true,2.5],"k\"ey":{"n":null}}"#)
        XCTAssertEqual(JSONValue.object(object).description, written(.object(object)))
    }

    func testAppendVariants() {
        let value = JSONValue.array([.string("é"), .integer(-1)])
        var bytes = Array("> ".utf8)
        JSONWriter.append(value, to: &bytes)
        XCTAssertEqual(bytes, Array(#"> ["é",-1]"#.utf8))
        var text = "> "
        JSONWriter.append(value, to: &text)
        XCTAssertEqual(text, #"> ["é",-1]"#)
        XCTAssertEqual(JSONWriter.bytes(value), Array(#"["é",-1]"#.utf8))
    }

    func testParsedTextIsWrittenCompactly() throws {
        let text = " { \"a\" : [ 1 , 2.50 , 1E2 , -0 , \"\\u00e9\\/\" ] , \"b\" : { } } "
        XCTAssertEqual(written(try JSONFixture.parse(text)), #"{"a":[1,2.5,100.0,0,"é/"],"b":{}}"#)
    }
}
