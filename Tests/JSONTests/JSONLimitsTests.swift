import XCTest

@testable import JSON

/// `JSONLimits`: depth, input size, elements per container, string size.
final class JSONLimitsTests: XCTestCase {
    private func nestedArrays(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    private func nestedObjects(_ depth: Int) -> String {
        String(repeating: #"{"a":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
    }

    func testDefaults() {
        let limits = JSONLimits()
        XCTAssertEqual(limits.maxDepth, 64)
        XCTAssertEqual(limits.maxBytes, 1_048_576)
        XCTAssertEqual(limits.maxStringBytes, 1_048_576)
        XCTAssertEqual(limits.maxElements, 100_000)
    }

    func testDepth() throws {
        XCTAssertNoThrow(try JSONFixture.parse(nestedArrays(64)))
        XCTAssertNoThrow(try JSONFixture.parse(nestedObjects(64)))
        XCTAssertNoThrow(try JSONFixture.parse("[{\"a\":" + nestedArrays(62) + "}]"))
        let error = JSONFixture.assertInvalid(nestedArrays(65), kind: .tooDeep)
        XCTAssertEqual(error?.offset, 64)
        XCTAssertEqual(error?.isLimit, true)
        JSONFixture.assertInvalid(nestedObjects(65), kind: .tooDeep)
        JSONFixture.assertInvalid("[{\"a\":" + nestedArrays(63) + "}]", kind: .tooDeep)
        // Scalars do not count as a level; siblings do not add up.
        XCTAssertNoThrow(
            try JSONFixture.parse(String(repeating: "[", count: 64) + "1" + String(repeating: "]", count: 64)))
        XCTAssertNoThrow(
            try JSONFixture.parse("[" + Array(repeating: nestedArrays(63), count: 100).joined(separator: ",") + "]"))

        let small = JSONLimits(maxDepth: 2)
        XCTAssertNoThrow(try JSONFixture.parse("[[1]]", limits: small))
        JSONFixture.assertInvalid("[[[1]]]", kind: .tooDeep, limits: small)
        XCTAssertNoThrow(try JSONFixture.parse("1", limits: JSONLimits(maxDepth: 0)))
        JSONFixture.assertInvalid("[]", kind: .tooDeep, limits: JSONLimits(maxDepth: 0))
    }

    func testVeryDeepInputFailsCleanly() {
        JSONFixture.assertInvalid(String(repeating: "[", count: 100_000), kind: .tooDeep)
        JSONFixture.assertInvalid(nestedArrays(100_000), kind: .tooDeep)
        JSONFixture.assertInvalid(String(repeating: #"{"a":"#, count: 100_000), kind: .tooDeep)
        JSONFixture.assertInvalid(String(repeating: "[{\"a\":", count: 50_000), kind: .tooDeep)
    }

    func testMaxBytes() throws {
        let limits = JSONLimits(maxBytes: 10)
        XCTAssertEqual(try JSONFixture.parse("[1,2,3,44]", limits: limits).description, "[1,2,3,44]")
        let error = JSONFixture.assertInvalid("[1,2,3,4,5]", kind: .inputTooLarge, limits: limits)
        XCTAssertEqual(error?.description, "input of 11 bytes is over the limit of 10 at offset 10")
        // Checked before parsing: even garbage is reported as too large.
        JSONFixture.assertInvalid("xxxxxxxxxxxxxxxx", kind: .inputTooLarge, limits: limits)
        // Whitespace counts too.
        JSONFixture.assertInvalid("1" + String(repeating: " ", count: 10), kind: .inputTooLarge, limits: limits)
        XCTAssertThrowsError(try JSONParser.parse(String(repeating: "1", count: 11), limits: limits))
        XCTAssertThrowsError(
            try JSONParser.parse(AnyCollection(Array(repeating: UInt8(0x31), count: 11)), limits: limits))

        let big = "\"" + String(repeating: "a", count: (1 << 20) - 2) + "\""
        XCTAssertEqual(try JSONFixture.parse(big), .string(String(repeating: "a", count: (1 << 20) - 2)))
        JSONFixture.assertInvalid(big + " ", kind: .inputTooLarge)
    }

    func testMaxElements() throws {
        let limits = JSONLimits(maxElements: 3)
        XCTAssertEqual(
            try JSONFixture.parse("[1,2,3]", limits: limits), .array([.integer(1), .integer(2), .integer(3)]))
        JSONFixture.assertInvalid("[1,2,3,4]", kind: .tooManyElements, limits: limits)
        XCTAssertNoThrow(try JSONFixture.parse(#"{"a":1,"b":2,"c":3}"#, limits: limits))
        JSONFixture.assertInvalid(#"{"a":1,"b":2,"c":3,"d":4}"#, kind: .tooManyElements, limits: limits)
        // Per container, not in total.
        XCTAssertNoThrow(try JSONFixture.parse("[[1,2,3],[1,2,3],[1,2,3]]", limits: limits))
        JSONFixture.assertInvalid("[[1,2,3],[1,2,3,4]]", kind: .tooManyElements, limits: limits)

        let full = "[" + Array(repeating: "0", count: 100_000).joined(separator: ",") + "]"
        guard case .array(let elements) = try JSONFixture.parse(full) else { return XCTFail("not an array") }
        XCTAssertEqual(elements.count, 100_000)
        JSONFixture.assertInvalid(
            "[" + Array(repeating: "0", count: 100_001).joined(separator: ",") + "]", kind: .tooManyElements)
    }

    func testMaxStringBytes() throws {
        let limits = JSONLimits(maxStringBytes: 4)
        XCTAssertEqual(try JSONFixture.parse(#""abcd""#, limits: limits), .string("abcd"))
        let error = JSONFixture.assertInvalid(#"["abcde"]"#, kind: .stringTooLong, limits: limits)
        XCTAssertEqual(error?.offset, 1)
        // Measured in decoded UTF-8 bytes, with or without escapes.
        XCTAssertEqual(try JSONFixture.parse(#""\u00e9\u00e9""#, limits: limits), .string("éé"))
        XCTAssertEqual(try JSONFixture.parse("\"éé\"", limits: limits), .string("éé"))
        XCTAssertEqual(try JSONFixture.parse(#""\ud83d\ude00""#, limits: limits), .string("😀"))
        JSONFixture.assertInvalid("\"ééa\"", kind: .stringTooLong, limits: limits)
        JSONFixture.assertInvalid(#""\u00e9\u00e9a""#, kind: .stringTooLong, limits: limits)
        JSONFixture.assertInvalid(#""ab\ncd""#, kind: .stringTooLong, limits: limits)
        JSONFixture.assertInvalid(#""\n\n\n\n\n\n""#, kind: .stringTooLong, limits: limits)
        // Keys too.
        XCTAssertNoThrow(try JSONFixture.parse(#"{"abcd":"wxyz"}"#, limits: limits))
        JSONFixture.assertInvalid(#"{"abcde":1}"#, kind: .stringTooLong, limits: limits)
    }

    func testLimitsAreIndependentOfEachOther() {
        let limits = JSONLimits(maxDepth: 1, maxBytes: 100, maxStringBytes: 2, maxElements: 2)
        XCTAssertNoThrow(try JSONFixture.parse(#"["ab","cd"]"#, limits: limits))
        JSONFixture.assertInvalid(#"[["a"]]"#, kind: .tooDeep, limits: limits)
        JSONFixture.assertInvalid(#"["abc"]"#, kind: .stringTooLong, limits: limits)
        JSONFixture.assertInvalid(#"[1,2,3]"#, kind: .tooManyElements, limits: limits)
        XCTAssertEqual(JSONFixture.assertInvalid("[1,2]x", limits: limits)?.isLimit, false)
    }
}
