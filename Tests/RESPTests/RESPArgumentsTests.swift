import XCTest

@testable import RESP

/// Arguments encoded ahead of their command header, then placed behind different heads:
/// the bytes must equal the plain encoder's for the same command, and decode back.
final class RESPArgumentsTests: XCTestCase {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testATailFollowsEitherHeadAsThePlainEncoderWouldWriteIt() {
        var tail = RESPArguments()
        tail.append(1)
        tail.append(Array("sg:{a/b/c}".utf8))
        tail.append("")
        tail.append(-42)
        tail.append { out in out.append(contentsOf: #"{"x":[1,2]}"#.utf8) }
        tail.append("ключ")
        XCTAssertEqual(tail.count, 6)

        var sha: [UInt8] = []
        RESPEncoder.appendCommand(head: ["EVALSHA", "abc"], tail, to: &sha)
        var plain: [UInt8] = []
        RESPEncoder.appendCommand(
            ["EVALSHA", "abc", "1", "sg:{a/b/c}", "", "-42", #"{"x":[1,2]}"#, "ключ"], to: &plain)
        XCTAssertEqual(text(sha), text(plain))

        var eval: [UInt8] = []
        RESPEncoder.appendCommand(head: ["EVAL", "return 1"], tail, to: &eval)
        XCTAssertTrue(text(eval).hasPrefix("*8\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n$1\r\n1\r\n"))
        XCTAssertTrue(text(eval).hasSuffix(text(tail.encoded)))
    }

    func testStaticHeadsAndBulksBuildATransaction() throws {
        var out: [UInt8] = []
        RESPEncoder.appendCommand(head: ["MULTI"] as [StaticString], RESPArguments(), to: &out)
        RESPEncoder.appendArrayHeader(2, to: &out)
        RESPEncoder.appendBulk("HGETALL", to: &out)
        RESPEncoder.appendBulk([UInt8](repeating: 0x7B, count: 12), to: &out)
        XCTAssertEqual(text(out), "*1\r\n$5\r\nMULTI\r\n*2\r\n$7\r\nHGETALL\r\n$12\r\n{{{{{{{{{{{{\r\n")

        var decoder = RESPDecoder()
        decoder.feed(out)
        XCTAssertEqual(try decoder.next(), .array([.bulkString(Array("MULTI".utf8))]))
        XCTAssertEqual(
            try decoder.next(), .array([.bulkString(Array("HGETALL".utf8)), .bulkString(Array("{{{{{{{{{{{{".utf8))]))
        XCTAssertNil(try decoder.next())
    }

    func testAnArgumentWrittenInPlaceGetsItsLengthWhateverItsSize() {
        for size in [0, 1, 9, 10, 99, 100, 12345] {
            var tail = RESPArguments()
            tail.append(Array("before".utf8))
            tail.append { out in out.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: size)) }
            tail.append(Array("after".utf8))
            let expected = "$6\r\nbefore\r\n$\(size)\r\n" + String(repeating: "x", count: size) + "\r\n$5\r\nafter\r\n"
            XCTAssertEqual(text(tail.encoded), expected, "size \(size)")
        }
    }

    func testPrefixedArgumentAndPreEncodedHead() {
        var tail = RESPArguments()
        tail.append(prefix: Array("b:".utf8), "näme")
        tail.append(prefix: [], "")
        XCTAssertEqual(tail.count, 2)
        XCTAssertEqual(text(tail.encoded), "$7\r\nb:näme\r\n$0\r\n\r\n")

        var head: [UInt8] = []
        RESPEncoder.appendBulk("EVALSHA", to: &head)
        RESPEncoder.appendBulk("abc", to: &head)
        var out: [UInt8] = []
        RESPEncoder.appendCommand(head: head, headCount: 2, tail, to: &out)
        var reference: [UInt8] = []
        RESPEncoder.appendCommand(head: ["EVALSHA", "abc"] as [String], tail, to: &reference)
        XCTAssertEqual(text(out), text(reference))
        XCTAssertTrue(text(out).hasPrefix("*4\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n"))
    }

    func testArgumentsWrittenAfterAHeadAreTheWholeCommand() {
        var head: [UInt8] = []
        RESPEncoder.appendBulk("EVALSHA", to: &head)
        RESPEncoder.appendBulk("abc", to: &head)
        var command = RESPArguments(command: head, headCount: 2, argumentCount: 3, reservingCapacity: 0)
        var plain = RESPArguments()
        command.append(1)
        plain.append(1)
        XCTAssertFalse(command.isCompleteCommand)
        command.append(prefix: Array("b:".utf8), "x")
        plain.append(prefix: Array("b:".utf8), "x")
        command.append { $0.append(contentsOf: Array("12345678901".utf8)) }
        plain.append { $0.append(contentsOf: Array("12345678901".utf8)) }
        XCTAssertTrue(command.isCompleteCommand)
        XCTAssertNil(plain.announcedCount)
        var reference: [UInt8] = []
        RESPEncoder.appendCommand(head: head, headCount: 2, plain, to: &reference)
        XCTAssertEqual(text(command.encoded), text(reference))
        XCTAssertEqual(text(Array(command.tail)), text(plain.encoded))
        var retry: [UInt8] = []
        RESPEncoder.appendCommand(head: ["EVAL", "return 1"] as [String], command, to: &retry)
        XCTAssertEqual(text(retry), "*5\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n" + text(plain.encoded))
    }

    func testBulksWrittenInOnePieceEqualArgumentsAppendedOneByOne() {
        for size in [0, 1, 9, 10, 99, 100, 999, 1000, 12345] {
            let value = Array(repeating: UInt8(ascii: "v"), count: size)
            let prefix = Array("b:".utf8)
            let name = Array("name".utf8)
            var oneByOne = RESPArguments()
            oneByOne.append(7)
            oneByOne.append(prefix + name)
            oneByOne.append(value)
            var together = RESPArguments()
            together.append(7)
            let byteCount = RESPBulkWriter.size(ofBulk: prefix.count + name.count) + RESPBulkWriter.size(ofBulk: size)
            prefix.withUnsafeBufferPointer { prefix in
                name.withUnsafeBufferPointer { name in
                    value.withUnsafeBufferPointer { value in
                        together.appendBulks(count: 2, byteCount: byteCount) { writer in
                            writer.bulk(prefix, name)
                            writer.bulk(value)
                        }
                    }
                }
            }
            XCTAssertEqual(text(together.encoded), text(oneByOne.encoded), "size \(size)")
            XCTAssertEqual(together.count, 3)
        }
    }
}
