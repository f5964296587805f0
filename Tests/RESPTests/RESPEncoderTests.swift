import TestSupport
import XCTest

@testable import RESP

final class RESPEncoderTests: XCTestCase {
    func encoded(_ args: [String]) -> String {
        var buffer: [UInt8] = []
        RESPEncoder.appendCommand(args, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    func testStringCommands() {
        XCTAssertEqual(encoded(["PING"]), "*1\r\n$4\r\nPING\r\n")
        XCTAssertEqual(encoded(["SET", "key", "value"]), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
        XCTAssertEqual(encoded([]), "*0\r\n")
    }

    func testEmptyArguments() {
        XCTAssertEqual(encoded(["SET", "k", ""]), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n")
        XCTAssertEqual(encoded(["", ""]), "*2\r\n$0\r\n\r\n$0\r\n\r\n")
    }

    func testUTF8ArgumentsCountBytesNotCharacters() {
        XCTAssertEqual(encoded(["SET", "ключ", "😀"]), "*3\r\n$3\r\nSET\r\n$8\r\nключ\r\n$4\r\n😀\r\n")
        XCTAssertEqual(encoded(["e\u{301}"]), "*1\r\n$3\r\ne\u{301}\r\n")
    }

    func testBinaryArguments() {
        var buffer: [UInt8] = []
        RESPEncoder.appendCommand([bytes("SET"), [0, 13, 10, 255], []], to: &buffer)
        XCTAssertEqual(buffer, bytes("*3\r\n$3\r\nSET\r\n$4\r\n") + [0, 13, 10, 255] + bytes("\r\n$0\r\n\r\n"))
    }

    func testCommandsAppendAfterExistingBytes() {
        var buffer = bytes("pending")
        RESPEncoder.appendCommand(["GET", "a"], to: &buffer)
        RESPEncoder.appendCommand([bytes("GET"), bytes("b")], to: &buffer)
        XCTAssertEqual(
            String(decoding: buffer, as: UTF8.self),
            "pending*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n")
    }

    func testWriterMixesArgumentKinds() {
        var buffer: [UInt8] = []
        let key = bytes("user:1")
        let raw = bytes("raw")
        RESPCommandWriter.write(argumentCount: 5, into: &buffer) { writer in
            writer.appendArgument("HINCRBY")
            writer.appendArgument(key[5...])
            raw.withUnsafeBytes { writer.appendArgument($0) }
            writer.appendArgument(Int64(-42))
            writer.appendArgument(7)
        }
        XCTAssertEqual(
            String(decoding: buffer, as: UTF8.self),
            "*5\r\n$7\r\nHINCRBY\r\n$1\r\n1\r\n$3\r\nraw\r\n$3\r\n-42\r\n$1\r\n7\r\n")
    }

    func testIntegerArguments() {
        let cases: [(Int64, String)] = [
            (0, "0"), (9, "9"), (10, "10"), (-1, "-1"), (-10, "-10"), (99, "99"), (100, "100"),
            (1_000_000_000, "1000000000"), (.max, "9223372036854775807"), (.min, "-9223372036854775808"),
        ]
        for (value, digits) in cases {
            var buffer: [UInt8] = []
            RESPCommandWriter.write(argumentCount: 1, into: &buffer) { $0.appendArgument(value) }
            XCTAssertEqual(String(decoding: buffer, as: UTF8.self), "*1\r\n$\(digits.utf8.count)\r\n\(digits)\r\n")
        }
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<1000 {
            let value = Int64.random(in: .min ... .max, using: &rng) >> Int64.random(in: 0...63, using: &rng)
            var buffer: [UInt8] = []
            RESPDecimal.append(value, to: &buffer)
            XCTAssertEqual(String(decoding: buffer, as: UTF8.self), String(value))
            XCTAssertEqual(RESPDecimal.digitCount(value), buffer.count)
        }
    }

    func testLengthHeadersAtDigitBoundaries() {
        for length in [9, 10, 99, 100, 1000, 65_536] {
            var buffer: [UInt8] = []
            RESPEncoder.appendCommand([String(repeating: "x", count: length)], to: &buffer)
            let header = bytes("*1\r\n$\(length)\r\n")
            XCTAssertEqual(Array(buffer.prefix(header.count)), header)
            XCTAssertEqual(buffer.count, header.count + length + 2)
        }
    }

    func testThrowingBodyLeavesBufferAsItWas() {
        struct Stop: Error {}
        var buffer = bytes("+kept")
        XCTAssertThrowsError(
            try RESPCommandWriter.write(argumentCount: 2, into: &buffer) { writer throws(Stop) in
                writer.appendArgument("SET")
                throw Stop()
            })
        XCTAssertEqual(buffer, bytes("+kept"))
    }

    func testEncodedCommandsDecodeAsArraysOfBulkStrings() throws {
        let commands: [[UInt8]] = [bytes("MSET"), bytes("k\r\n"), [0, 255], [], bytes("ключ")]
        var buffer: [UInt8] = []
        RESPEncoder.appendCommand(commands, to: &buffer)
        RESPEncoder.appendCommand(["PING"], to: &buffer)
        var decoder = RESPDecoder()
        decoder.feed(buffer)
        XCTAssertEqual(try decoder.next(), .array(commands.map { .bulkString($0) }))
        XCTAssertEqual(try decoder.next(), .array([.bulkString(bytes("PING"))]))
        XCTAssertNil(try decoder.next())
    }
}
