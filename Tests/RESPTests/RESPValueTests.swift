import XCTest

@testable import RESP

final class RESPValueTests: XCTestCase {
    func testString() {
        XCTAssertEqual(RESPValue.simpleString("OK").string, "OK")
        XCTAssertEqual(RESPValue.bulkString(bytes("ключ")).string, "ключ")
        XCTAssertEqual(RESPValue.verbatim(format: "txt", text: bytes("hi")).string, "hi")
        XCTAssertNil(RESPValue.bulkString([0xFF, 0xFE]).string, "not UTF-8")
        XCTAssertNil(RESPValue.bulkString(nil).string)
        XCTAssertNil(RESPValue.error("ERR").string)
        XCTAssertNil(RESPValue.integer(1).string)
    }

    func testInt() {
        XCTAssertEqual(RESPValue.integer(-5).int, -5)
        XCTAssertNil(RESPValue.bulkString(bytes("5")).int)
        XCTAssertNil(RESPValue.null.int)
    }

    func testBytes() {
        XCTAssertEqual(RESPValue.bulkString([0, 13]).bytes, [0, 13])
        XCTAssertEqual(RESPValue.bulkString([]).bytes, [])
        XCTAssertEqual(RESPValue.simpleString("OK").bytes, bytes("OK"))
        XCTAssertEqual(RESPValue.verbatim(format: "txt", text: [1]).bytes, [1])
        XCTAssertNil(RESPValue.bulkString(nil).bytes)
        XCTAssertNil(RESPValue.error("ERR").bytes)
    }

    func testArray() {
        XCTAssertEqual(RESPValue.array([.integer(1)]).array, [.integer(1)])
        XCTAssertEqual(RESPValue.set([.integer(2)]).array, [.integer(2)])
        XCTAssertEqual(RESPValue.push([]).array, [])
        XCTAssertNil(RESPValue.array(nil).array)
        XCTAssertNil(RESPValue.map([]).array)
    }

    func testNullAndError() {
        for value in [RESPValue.null, .bulkString(nil), .array(nil)] {
            XCTAssertTrue(value.isNull, "\(value)")
            XCTAssertFalse(value.isError)
        }
        for value in [RESPValue.bulkString([]), .array([]), .integer(0), .boolean(false), .simpleString("")] {
            XCTAssertFalse(value.isNull, "\(value)")
        }
        XCTAssertTrue(RESPValue.error("ERR x").isError)
        XCTAssertFalse(RESPValue.simpleString("ERR").isError)
    }

    func testMapEquality() {
        let one = RESPValue.map([RESPPair(key: .simpleString("a"), value: .integer(1))])
        XCTAssertEqual(one, .map([RESPPair(key: .simpleString("a"), value: .integer(1))]))
        XCTAssertNotEqual(one, .map([RESPPair(key: .simpleString("a"), value: .integer(2))]))
        XCTAssertNotEqual(one, .array([.simpleString("a"), .integer(1)]))
    }
}
