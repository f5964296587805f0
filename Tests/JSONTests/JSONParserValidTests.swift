import TestSupport
import XCTest

@testable import JSON

/// Inputs that must parse, with their exact values.
final class JSONParserValidTests: XCTestCase {
    private func check(
        _ text: String, _ expected: JSONValue, file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let value = try JSONFixture.parse(text)
            XCTAssertEqual(value, expected, text, file: file, line: line)
        } catch {
            XCTFail("\(text): \(error)", file: file, line: line)
        }
    }

    func testScalars() {
        check("null", .null)
        check("true", .bool(true))
        check("false", .bool(false))
        check("0", .integer(0))
        check("-0", .integer(0))
        check("7", .integer(7))
        check("-123", .integer(-123))
        check(#""""#, .string(""))
        check(#""abc""#, .string("abc"))
    }

    func testContainers() {
        check("[]", .array([]))
        check("{}", .object(JSONObject()))
        check("[[]]", .array([.array([])]))
        check("[{}]", .array([.object(JSONObject())]))
        check(#"{"a":{}}"#, .object(JSONObject([("a", .object(JSONObject()))])))
        check(
            #"{"a":[1,{"b":null}],"c":"d"}"#,
            .object(
                JSONObject([("a", .array([.integer(1), .object(JSONObject([("b", .null)]))])), ("c", .string("d"))])))
        check("[1,true,null,\"x\",1.5]", .array([.integer(1), .bool(true), .null, .string("x"), .number(1.5)]))
    }

    func testObjectKeepsKeyOrder() throws {
        guard case .object(let object) = try JSONFixture.parse(#"{"z":1,"a":2,"m":3}"#) else {
            return XCTFail("not an object")
        }
        XCTAssertEqual(object.keys, ["z", "a", "m"])
        XCTAssertEqual(object.map(\.value), [.integer(1), .integer(2), .integer(3)])
    }

    func testWhitespace() {
        check(" \t\n\r[ 1 ,\t2\n] \r\n", .array([.integer(1), .integer(2)]))
        check("\n{ \"a\" : \"b\" , \"c\"\t:\r[ ] }\n", .object(JSONObject([("a", .string("b")), ("c", .array([]))])))
        check("  null  ", .null)
        check("[\n]", .array([]))
        check("{\r\n}", .object(JSONObject()))
    }

    func testEscapes() {
        check(#""\"\\\/\b\f\n\r\t""#, .string("\"\\/\u{8}\u{C}\n\r\t"))
        check(#""\u0000""#, .string("\u{0}"))
        check(#""a\u001Fb""#, .string("a\u{1F}b"))
        check(#""\u0041\u00e9\u00E9""#, .string("Aéé"))
        check(#""\u20AC""#, .string("€"))
        check(#""\uFFFF""#, .string("\u{FFFF}"))
        check(#""x\ny\u0022z""#, .string("x\ny\"z"))
        check(#""prefix\\""#, .string("prefix\\"))
    }

    func testUnicode() {
        check("\"é\"", .string("é"))
        check("\"日本語テキスト\"", .string("日本語テキスト"))
        check("\"😀\"", .string("😀"))
        check(#""\ud83d\ude00""#, .string("😀"))
        check(#""\uD834\uDD1E clef""#, .string("𝄞 clef"))
        check(#""\uDBFF\uDFFF""#, .string("\u{10FFFF}"))
        check("\"\u{10FFFF}\"", .string("\u{10FFFF}"))
        check("\"\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\"", .string("\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}"))
        check("\"\u{2028}\u{2029}\"", .string("\u{2028}\u{2029}"))
        check("{\"ключ\":\"значение\"}", .object(JSONObject([("ключ", .string("значение"))])))
        // Long runs exercise the 8-byte scanning path, with specials at every position.
        let long = String(repeating: "abcdefghé", count: 50)
        check("\"\(long)\"", .string(long))
        for position in 0..<20 {
            let text = String(repeating: "a", count: position) + "\\n" + String(repeating: "b", count: 20 - position)
            check(
                "\"\(text)\"",
                .string(String(repeating: "a", count: position) + "\n" + String(repeating: "b", count: 20 - position)))
        }
    }

    func testIntegers() {
        check("9007199254740993", .integer(9_007_199_254_740_993))
        check("9223372036854775807", .integer(.max))
        check("-9223372036854775808", .integer(.min))
        check("9223372036854775808", .unsignedInteger(1 << 63))
        check("18446744073709551615", .unsignedInteger(.max))
        check("18446744073709551616", .number(18_446_744_073_709_551_616.0))
        check("-9223372036854775809", .number(-9_223_372_036_854_775_809.0))
        check("123456789012345678901234567890", .number(1.2345678901234568e29))
        check("[-1,0,1]", .array([.integer(-1), .integer(0), .integer(1)]))
    }

    func testFloats() throws {
        check("0.1", .number(0.1))
        check("1e-7", .number(1e-7))
        check("1E-7", .number(1e-7))
        check("5e20", .number(5e20))
        check("5e+20", .number(5e20))
        check("1.5", .number(1.5))
        check("-2.5e-3", .number(-0.0025))
        check("1E2", .number(100))
        check("2.0", .number(2))
        check("0e0", .number(0))
        check("0.0", .number(0))
        check("1e22", .number(1e22))
        check("1e23", .number(1e23))
        check("1.7976931348623157e308", .number(.greatestFiniteMagnitude))
        check("5e-324", .number(.leastNonzeroMagnitude))
        check("2.2250738585072014e-308", .number(.leastNormalMagnitude))
        check("1e-400", .number(0))
        check("3.141592653589793238462643383279", .number(.pi))
        check("9007199254740993.0", .number(9_007_199_254_740_992))  // ties to even
        check("1.00000000000000011102230246251565404236316680908203125", .number(1))  // exactly halfway: even
        check("1.00000000000000011102230246251565404236316680908203126", .number(1.0000000000000002))
        check("0.30000000000000004", .number(0.1 + 0.2))
        check("123456789.123456789e-5", .number(1234.56789123456789))

        for (text, negative) in [("-0.0", true), ("-0e3", true), ("0.0", false)] {
            guard case .number(let zero) = try JSONFixture.parse(text) else { return XCTFail(text) }
            XCTAssertEqual(zero, 0)
            XCTAssertEqual(zero.sign == .minus, negative, text)
        }
    }

    func testNumbersAgreeWithStandardLibrary() throws {
        // Spot-check the fast path against Double(String) on many shapes.
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<5_000 {
            let digits = String(UInt64.random(in: 0...(1 << 54), using: &rng))
            let exponent = Int.random(in: -30...30, using: &rng)
            let fraction = Int.random(in: 0..<digits.count, using: &rng)
            let text =
                String(digits.prefix(digits.count - fraction)) + (fraction > 0 ? "." + digits.suffix(fraction) : ".0")
                + "e\(exponent)"
            XCTAssertEqual(try JSONFixture.parse(text), .number(Double(text)!), text)
        }
    }

    func testInputKinds() throws {
        let text = #"{"a":[1,"x"]}"#
        let expected = try JSONFixture.parse(text)
        XCTAssertEqual(try JSONParser.parse(text), expected)
        XCTAssertEqual(try JSONParser.parse(text.utf8), expected)
        XCTAssertEqual(try JSONParser.parse(Array(text.utf8)[...]), expected)
        XCTAssertEqual(try JSONParser.parse(AnyCollection(text.utf8)), expected)
        let bytes = Array(text.utf8)
        XCTAssertEqual(try bytes.withUnsafeBytes { raw throws(JSONError) in try JSONParser.parse(raw) }, expected)
        XCTAssertThrowsError(try JSONParser.parse(UnsafeRawBufferPointer(start: nil, count: 0)))
    }
}
