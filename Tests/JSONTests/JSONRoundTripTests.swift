import TestSupport
import XCTest

@testable import JSON

/// parse(write(v)) == v for generated values, and the `JSONObject` API.
final class JSONRoundTripTests: XCTestCase {
    func testRandomValuesRoundTrip() throws {
        var generator = JSONValueGenerator(seed: 0x5EED_2024)
        for iteration in 0..<2_000 {
            let value = generator.value(depth: Int.random(in: 0...5, using: &generator.rng))
            let text = JSONWriter.bytes(value)
            do {
                let parsed = try JSONParser.parse(text)
                XCTAssertEqual(parsed, value, "case \(iteration): \(JSONFixture.printable(text))")
                // Writing is deterministic, so the text must round-trip too.
                XCTAssertEqual(JSONWriter.bytes(parsed), text, "case \(iteration)")
            } catch {
                XCTFail("case \(iteration): \(error) in \(JSONFixture.printable(text))")
            }
        }
    }

    func testCornerValuesRoundTrip() throws {
        let values: [JSONValue] = [
            .integer(.min), .integer(.max), .unsignedInteger(1 << 63), .unsignedInteger(.max), .number(-0.0),
            .number(.leastNonzeroMagnitude), .number(.greatestFiniteMagnitude), .number(2), .number(1e-7),
            .number(5e20),
            .string("\u{0}\u{1F}\"\\/\u{7F}\u{FFFF}\u{10FFFF}"), .array([.array([.array([])])]),
            .object(JSONObject([("", .null), (" ", .object(JSONObject()))])),
        ]
        for value in values {
            XCTAssertEqual(try JSONParser.parse(JSONWriter.bytes(value)), value, value.description)
        }
        guard case .number(let zero) = try JSONParser.parse(JSONWriter.bytes(.number(-0.0))) else { return XCTFail() }
        XCTAssertEqual(zero.sign, .minus)
    }

    func testObjectBasics() {
        var object = JSONObject([("b", .integer(1)), ("a", .integer(2))])
        XCTAssertEqual(object.count, 2)
        XCTAssertFalse(object.isEmpty)
        XCTAssertEqual(object.keys, ["b", "a"])
        XCTAssertEqual(object["a"], .integer(2))
        XCTAssertNil(object["c"])
        XCTAssertTrue(object.contains("b"))

        object.set("b", .string("x"))  // replaces in place
        object.set("c", .null)  // appends
        XCTAssertEqual(object.keys, ["b", "a", "c"])
        XCTAssertEqual(object["b"], .string("x"))
        XCTAssertEqual(object["c"], .null)

        XCTAssertEqual(object.remove("b"), .string("x"))
        XCTAssertNil(object.remove("b"))
        XCTAssertEqual(object.keys, ["a", "c"])

        object["d"] = .bool(true)
        object["a"] = nil
        XCTAssertEqual(object.keys, ["c", "d"])
        XCTAssertEqual(Array(object.map(\.key)), ["c", "d"])
        XCTAssertEqual(object.values, [.null, .bool(true)])

        for (key, value) in object where key == "d" { XCTAssertEqual(value, .bool(true)) }
        XCTAssertEqual(JSONObject([("k", .integer(1)), ("k", .integer(2))]), JSONObject([("k", .integer(2))]))
        XCTAssertTrue(JSONObject([]).isEmpty)
    }

    func testObjectEqualityIsOrderedAndIgnoresTheIndex() {
        XCTAssertNotEqual(
            JSONObject([("a", .integer(1)), ("b", .integer(2))]), JSONObject([("b", .integer(2)), ("a", .integer(1))]))
        // Grow past the index threshold, then shrink back: equal to one built small.
        let count = JSONObject.indexThreshold + 5
        var grown = JSONObject((0..<count).map { ("k\($0)", .integer(Int64($0))) })
        for index in 2..<count { grown.remove("k\(index)") }
        XCTAssertEqual(grown, JSONObject([("k0", .integer(0)), ("k1", .integer(1))]))
    }

    func testInsertNewLeavesObjectUnchangedOnDuplicate() {
        for count in [3, JSONObject.indexThreshold + 3] {
            var object = JSONObject((0..<count).map { ("k\($0)", .integer(Int64($0))) })
            let before = object
            XCTAssertFalse(object.insertNew("k1", .null))
            XCTAssertEqual(object, before)
            XCTAssertEqual(object["k1"], .integer(1))
            XCTAssertTrue(object.insertNew("new", .null))
            XCTAssertEqual(object.keys.last, "new")
            XCTAssertEqual(object["new"], .null)
            XCTAssertEqual(object["k1"], .integer(1))
        }
    }

    func testLargeObjectStaysConsistent() {
        // Random set/remove against a reference list, across the index threshold.
        var rng = SeededGenerator(seed: 7)
        var object = JSONObject()
        var reference: [(String, Int64)] = []
        for step in 0..<3_000 {
            let key = "k\(Int.random(in: 0..<60, using: &rng))"
            if Bool.random(using: &rng) || reference.count < 5 {
                object.set(key, .integer(Int64(step)))
                if let position = reference.firstIndex(where: { $0.0 == key }) {
                    reference[position].1 = Int64(step)
                } else {
                    reference.append((key, Int64(step)))
                }
            } else {
                let removed = object.remove(key)
                let position = reference.firstIndex(where: { $0.0 == key })
                XCTAssertEqual(removed, position.map { .integer(reference[$0].1) })
                if let position { reference.remove(at: position) }
            }
            XCTAssertEqual(object.keys, reference.map(\.0))
        }
        for (key, value) in reference { XCTAssertEqual(object[key], .integer(value)) }
        XCTAssertEqual(object, JSONObject(reference.map { ($0.0, JSONValue.integer($0.1)) }))
    }
}
