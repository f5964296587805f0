import XCTest

@testable import JSON

/// Inputs that must be rejected, grouped like JSONTestSuite's n_ cases.
final class JSONParserInvalidTests: XCTestCase {
    private func rejectAll(
        _ inputs: [String], kind: JSONError.Kind? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
        for input in inputs { JSONFixture.assertInvalid(input, kind: kind, file: file, line: line) }
    }

    private func rejectAll(
        _ inputs: [[UInt8]], kind: JSONError.Kind, file: StaticString = #filePath, line: UInt = #line
    ) {
        for input in inputs { JSONFixture.assertInvalid(input, kind: kind, file: file, line: line) }
    }

    func testStructure() {
        rejectAll(
            [
                "", " ", "\n", "[", "]", "{", "}", "[1", "[1,", "{\"a\"", "{\"a\":", "{\"a\":1", "[\"a\",\n4\n,1,",
                "[]]", "][", "[][]", "{}}", "[1]x", "[1] [2]", "1 2", "{\"a\":true} \"x\"", "<null>", "*", "a", "[*]",
                "[1 true]", "[1 2]", "[3[4]]", "[\"\": 1]", "[\"a\" \"b\"]", "[,]", "[,1]", "[1,,2]", "[   , \"\"]",
                "[\"\"],", "[1,]", "[1,2,]", "[\"x\",]", "{\"a\":1,}", "{,}", "{\"a\":1,,\"b\":2}", "{\"a\" 1}",
                "{\"a\":1 \"b\":2}", "{\"a\"}", "{\"a\":}", "{:1}", "{1:1}", "{null:null}", "{true:1}", "{[]:1}",
                "{\"x\"::\"b\"}", "{\"a\",\"b\"}", "{\"a\":\"b\"}}", "{\"a\":\"b\"}#", "{\"a\":\"b\"}/**/", "[1]//",
                "/* c */ 1", "# c\n1", "{'a':0}", "{a:0}", "{key: 'value'}", "['single']", "'a'",
                "[\u{C}]", "\u{C}[]", "[\u{A0}1]", "\u{FEFF}{}", "[\u{2060}]", "[1]\u{0}", "\u{0}", "[\u{B}1]",
            ],
            kind: .syntax)
    }

    func testLiterals() {
        rejectAll(
            [
                "tru", "nul", "fals", "[tru]", "[nul]", "[fals]", "True", "tRue", "NULL", "nil", "None", "truex",
                "nulll",
                "[true1]", "undefined", "t", "f", "n",
            ],
            kind: .syntax)
    }

    func testNumbers() {
        rejectAll(
            [
                "01", "-01", "00", "[012]", "[-012]", "+1", "[+1]", ".5", "[.123]", "1.", "[1.]", "-", "[-]", "--1",
                "- 1",
                "-a", "1.e1", "2.e3", "0.e1", "-2.", "1.0.", "-1.0.", "1e", "1E", "0e", "0e+", "1e+", "1e-", "1eE2",
                "1ea", "1e+-2", "0.3e+", "9.e+", "1.2a-3", "1 000.0", "0x1", "0x42", "0b1", "1_000", "Infinity",
                "-Infinity", "[Infinity]", "inf", "NaN", "-NaN", "[NaN]", "nan", "1.8011670033376514H-308", "\u{661}",
                "１", "[1e1.5]", "1..2", "1.2.3", ".e1", "e1", "-.1", "1f", "1d", "123L",
            ],
            kind: .syntax)
    }

    func testNumbersOutOfRange() {
        rejectAll(
            ["1e400", "-1e400", "[1.5e999]", "1e99999999999999999999", "1" + String(repeating: "0", count: 400)],
            kind: .numberOutOfRange)
    }

    func testStrings() {
        rejectAll(["\"", "\"abc", "[\"abc]", "\"\\\"", "[\"\\\"]", "\"a\\", "\"\\u", "\"\\u12"], kind: .syntax)
        rejectAll(
            [
                // Raw control characters.
                "\"\u{0}\"", "\"a\u{1}b\"", "\"\t\"", "\"\n\"", "\"\r\"", "\"\u{1F}\"", "[\"new\nline\"]",
                // Bad escapes.
                "\"\\x41\"", "\"\\a\"", "\"\\'\"", "\"\\U0041\"", "\"\\0\"", "\"\\ \"", "\"\\\t\"", "\"\\😀\"",
                "\"\\é\"",
                "\"\\uqqqq\"", "\"\\u00G0\"", "\"\\u-123\"", "\"\\u 123\"", "\"\\u00A\"", "\"\\u123\"", "\"\\u{41}\"",
                // Lone or unpaired surrogates.
                "\"\\uD800\"", "\"\\ud800\"", "\"\\uDBFF\"", "\"\\uDC00\"", "\"\\uDFFF\"", "\"\\uDADA\"", "\"\\uDFAA\"",
                "\"\\uD800x\"", "\"\\uD800\\n\"", "\"\\uD888\\u1234\"", "\"\\uD800\\uD800\"", "\"\\uDC00\\uD800\"",
                "\"\\uD834\\uDd\"", "\"\\uD800\\uE000\"", "\"\\uDBFF\\uDBFF\"", "\"\\uD800\\u0041\"", "\"\\uD800\\u\"",
                "\"\\uD800\\\"", "\"\\uD800\\uZZZZ\"", "[\"\\uD800\"]",
                "{\"\\uDFAA\":0}",
            ],
            kind: .invalidString)
    }

    func testInvalidUTF8() {
        let quote: UInt8 = 0x22
        let sequences: [[UInt8]] = [
            [0xFF], [0xFE], [0x80], [0xBF], [0xC0, 0xAF], [0xC1, 0xBF], [0xC2], [0xC2, 0x41], [0xE0, 0x80, 0xAF],
            [0xE0, 0x9F, 0xBF], [0xE6, 0x97], [0xE6, 0x41, 0x97], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
            [0xF0, 0x80, 0x80, 0xAF], [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
            [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], [0xF0, 0x9F, 0x98],
            [0xF0, 0x9F, 0x41, 0x80],
        ]
        for sequence in sequences {
            JSONFixture.assertInvalid([quote] + sequence + [quote], kind: .invalidUTF8, "in a string \(sequence): ")
            JSONFixture.assertInvalid(
                Array("[\"0123456789abcdef".utf8) + sequence + Array("0123456789\"]".utf8), kind: .invalidUTF8,
                "mid-string \(sequence): ")
            JSONFixture.assertInvalid(
                Array("{\"".utf8) + sequence + Array("\":1}".utf8), kind: .invalidUTF8, "in a key: ")
        }
        // Outside strings any non-ASCII byte is simply unexpected.
        rejectAll(
            [[0xFF], [0x5B, 0xFF, 0x5D], [0xEF, 0xBB, 0xBF, 0x7B, 0x7D], [0x5B, 0xC3, 0xA9, 0x5D]], kind: .syntax)
        // Truncated at the very end of the input.
        JSONFixture.assertInvalid([quote, 0xE2, 0x82], kind: .invalidUTF8)
    }

    func testDuplicateKeys() throws {
        let error = JSONFixture.assertInvalid(#"{"a":1,"a":2}"#, kind: .duplicateKey)
        XCTAssertEqual(error?.description, #"duplicate key "a" at offset 7"#)
        rejectAll(
            [
                #"{"a":1,"b":2,"a":1}"#, #"{"a":1,"\u0061":2}"#, #"[{"x":{"y":1,"y":1}}]"#, #"{"":1,"":2}"#,
                "{\"é\":1,\"e\u{301}\":2}",
            ],
            kind: .duplicateKey)
        XCTAssertNoThrow(try JSONFixture.parse(#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#))
        XCTAssertNoThrow(try JSONFixture.parse(#"{"a":1,"A":2,"a ":3}"#))

        // Large objects use the hash index: still exact, duplicate or not.
        let members = (0..<1_000).map { "\"k\($0)\":\($0)" }
        guard case .object(let object) = try JSONFixture.parse("{" + members.joined(separator: ",") + "}") else {
            return XCTFail("not an object")
        }
        XCTAssertEqual(object.count, 1_000)
        XCTAssertEqual(object["k999"], .integer(999))
        JSONFixture.assertInvalid("{" + members.joined(separator: ",") + ",\"k500\":0}", kind: .duplicateKey)
        JSONFixture.assertInvalid("{" + (members + ["\"k0\":0"]).joined(separator: ",") + "}", kind: .duplicateKey)
    }

    func testErrorMessagesCarryOffsets() {
        XCTAssertEqual(JSONFixture.assertInvalid("[1,2,x]")?.description, "unexpected character 'x' at offset 5")
        XCTAssertEqual(
            JSONFixture.assertInvalid("")?.description, "unexpected end of input where a value was expected at offset 0"
        )
        XCTAssertEqual(JSONFixture.assertInvalid("[1,]")?.offset, 3)
        XCTAssertEqual(JSONFixture.assertInvalid("01")?.description, "leading zero in a number at offset 0")
        XCTAssertEqual(
            JSONFixture.assertInvalid("[1] x")?.description, "unexpected character 'x' after the value at offset 4")
        XCTAssertEqual(
            JSONFixture.assertInvalid("\"ab\u{1}\"")?.description,
            "unescaped control character U+0001 in a string at offset 3")
        XCTAssertEqual(JSONFixture.assertInvalid(#""\q""#)?.description, #"invalid escape '\q' at offset 1"#)
        XCTAssertEqual(
            JSONFixture.assertInvalid(#"["\uD800"]"#)?.description, #"unpaired surrogate \uD800 at offset 2"#)
        XCTAssertEqual(
            JSONFixture.assertInvalid([0x22, 0x61, 0xC0, 0xAF, 0x22])?.description,
            "invalid UTF-8 sequence starting with byte 0xC0 at offset 2")
        XCTAssertEqual(JSONFixture.assertInvalid("[\u{0}]")?.description, "unexpected byte 0x00 at offset 1")
        XCTAssertEqual(JSONFixture.assertInvalid("1e400")?.description, "number out of range for a double at offset 0")
        XCTAssertEqual(JSONFixture.assertInvalid("{\"a\" 1}")?.offset, 5)
    }
}
