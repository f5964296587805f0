import TestSupport
import XCTest

@testable import RESP

/// Malformed and oversized input: each case fails with its own error, whole or byte by byte, the
/// error sticks, and nothing is allocated in proportion to what the peer merely claims.
final class RESPDecoderHostileTests: XCTestCase {
    static let small = RESPLimits(maxBulkLength: 16, maxElements: 4, maxDepth: 2, maxInlineLength: 8)

    static let cases: [(wire: [UInt8], limits: RESPLimits, error: RESPDecodeError)] = [
        // Lengths
        (bytes("$-2\r\n"), .init(), .protocolError("negative length")),
        (bytes("$-0\r\n"), .init(), .protocolError("negative length")),
        (bytes("*-2\r\n"), .init(), .protocolError("negative length")),
        (bytes("%-1\r\n"), .init(), .protocolError("negative length")),
        (bytes("!-1\r\n"), .init(), .protocolError("negative length")),
        (bytes("$abc\r\n"), .init(), .protocolError("invalid length")),
        (bytes("$+3\r\nfoo\r\n"), .init(), .protocolError("invalid length")),
        (bytes("$ 3\r\nfoo\r\n"), .init(), .protocolError("invalid length")),
        (bytes("$\r\n"), .init(), .protocolError("empty length")),
        (bytes("$99999999999999999999\r\n"), .init(), .protocolError("length out of range")),
        (bytes("*" + String(repeating: "9", count: 40) + "\r\n"), .init(), .protocolError("malformed length")),
        // Limits
        (bytes("$17\r\n"), small, .bulkTooLong(17)),
        (bytes("$536870913\r\n"), .init(), .bulkTooLong(536_870_913)),
        (bytes("$9223372036854775807\r\n"), .init(maxBulkLength: .max), .bulkTooLong(.max)),
        (bytes("=20\r\n"), small, .bulkTooLong(20)),
        (bytes("*1048577\r\n"), .init(), .tooManyElements(1_048_577)),
        (bytes("%5\r\n"), small, .tooManyElements(5)),
        (bytes("*9223372036854775807\r\n"), .init(maxElements: .max), .tooManyElements(.max)),
        (bytes(String(repeating: "*1\r\n", count: 10_000)), .init(), .tooDeep(33)),
        (bytes("*1\r\n*1\r\n*0\r\n"), small, .tooDeep(3)),
        (bytes("~1\r\n%1\r\n>1\r\n"), small, .tooDeep(3)),
        (bytes("+123456789\r\n"), small, .lineTooLong(8)),
        (bytes("-" + String(repeating: "E", count: 70_000)), .init(), .lineTooLong(65_536)),
        (bytes(":" + String(repeating: "1", count: 40) + "\r\n"), .init(), .protocolError("malformed scalar")),
        // Line endings
        (bytes("+OK\n"), .init(), .protocolError("bare LF")),
        (bytes("$3\nfoo\r\n"), .init(), .protocolError("bare LF")),
        (bytes("+OK\rX"), .init(), .protocolError("CR not followed by LF")),
        (bytes(":1\r\r\n"), .init(), .protocolError("CR not followed by LF")),
        (bytes("$3\r\nfooXY"), .init(), .protocolError("bulk data not followed by CRLF")),
        (bytes("$3\r\nfoo\n\r"), .init(), .protocolError("bulk data not followed by CRLF")),
        (bytes("$0\r\n\n\n"), .init(), .protocolError("bulk data not followed by CRLF")),
        // Type bytes
        (bytes("\n"), .init(), .protocolError("unknown type byte 10")),
        (bytes("?\r\n"), .init(), .protocolError("unknown type byte 63")),
        (bytes("GET / HTTP/1.1\r\n"), .init(), .protocolError("unknown type byte 71")),
        ([0], .init(), .protocolError("unknown type byte 0")),
        (bytes("*2\r\n:1\r\n@"), .init(), .protocolError("unknown type byte 64")),
        // Scalars
        (bytes(":9223372036854775808\r\n"), .init(), .protocolError("integer out of range")),
        (bytes(":-9223372036854775809\r\n"), .init(), .protocolError("integer out of range")),
        (bytes(":12a\r\n"), .init(), .protocolError("malformed integer")),
        (bytes(":\r\n"), .init(), .protocolError("malformed integer")),
        (bytes(":-\r\n"), .init(), .protocolError("malformed integer")),
        (bytes(":1.5\r\n"), .init(), .protocolError("malformed integer")),
        (bytes("#x\r\n"), .init(), .protocolError("malformed boolean")),
        (bytes("#tt\r\n"), .init(), .protocolError("malformed boolean")),
        (bytes("_x\r\n"), .init(), .protocolError("malformed null")),
        (bytes(",abc\r\n"), .init(), .protocolError("malformed double")),
        (bytes(",1.2.3\r\n"), .init(), .protocolError("malformed double")),
        (bytes(",0x1p3\r\n"), .init(), .protocolError("malformed double")),
        (bytes(",\r\n"), .init(), .protocolError("malformed double")),
        (bytes("(12a\r\n"), .init(), .protocolError("malformed big number")),
        (bytes("(-\r\n"), .init(), .protocolError("malformed big number")),
        (bytes("=3\r\nabc\r\n"), .init(), .protocolError("malformed verbatim string")),
        (bytes("=4\r\nabcd\r\n"), .init(), .protocolError("malformed verbatim string")),
    ]

    func testEachCaseFailsWithItsErrorWholeAndByteByByte() {
        for (wire, limits, expected) in Self.cases {
            let name = String(decoding: wire.prefix(40), as: UTF8.self)
            var whole = RESPDecoder(limits: limits)
            whole.feed(wire)
            XCTAssertEqual(whole.firstError(), expected, name)

            var byByte = RESPDecoder(limits: limits)
            var error: RESPDecodeError?
            for byte in wire where error == nil {
                byByte.feed([byte])
                error = byByte.firstError()
            }
            XCTAssertEqual(error, expected, "byte by byte: \(name)")
        }
    }

    func testErrorIsStickyAndLaterBytesAreDropped() {
        for (wire, limits, expected) in Self.cases {
            let name = String(decoding: wire.prefix(40), as: UTF8.self)
            var decoder = RESPDecoder(limits: limits)
            decoder.feed(wire)
            XCTAssertEqual(decoder.firstError(), expected, name)
            XCTAssertEqual(decoder.firstError(), expected, "second call: \(name)")
            decoder.feed(bytes("+OK\r\n"))
            XCTAssertEqual(decoder.bufferedByteCount, 0, name)
            XCTAssertEqual(decoder.firstError(), expected, "after valid bytes: \(name)")
        }
    }

    /// Corrupted replies: whatever the verdict, whole input and byte-by-byte input reach the same one.
    func testMutatedRepliesGiveTheSameVerdictWholeAndByteByByte() {
        var rng = SeededGenerator(seed: 0xBAD)
        let alphabet = bytes("+-:$*%~>|_#,(=!\r\n0123456789-1aft")
        for round in 0..<3000 {
            let limits = round.isMultiple(of: 2) ? RESPLimits() : Self.small
            var wire = RESPDecoderCorpusTests.corpus.randomElement(using: &rng)!.wire
            for _ in 0...Int.random(in: 0...2, using: &rng) {
                let index = Int.random(in: 0..<wire.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: wire[index] = alphabet.randomElement(using: &rng)!
                case 1: wire.insert(alphabet.randomElement(using: &rng)!, at: index)
                default: if wire.count > 1 { wire.remove(at: index) }
                }
            }
            let name = String(decoding: wire, as: UTF8.self)
            XCTAssertEqual(Self.verdict([wire], limits), Self.verdict(wire.map { [$0] }, limits), name)
        }
    }

    static func verdict(_ chunks: [[UInt8]], _ limits: RESPLimits) -> String {
        var decoder = RESPDecoder(limits: limits)
        var values: [RESPValue] = []
        for chunk in chunks {
            decoder.feed(chunk)
            do {
                while let value = try decoder.next() { values.append(value) }
            } catch {
                return "\(values) then \(error)"
            }
        }
        return "\(values) then \(decoder.bufferedByteCount) bytes pending"
    }

    func testLimitsAreInclusive() throws {
        var decoder = RESPDecoder(limits: Self.small)
        let atLimits =
            "$16\r\n0123456789abcdef\r\n" + "+12345678\r\n" + "*4\r\n:1\r\n:2\r\n:3\r\n*1\r\n:4\r\n" + "%4\r\n"
            + String(repeating: "_\r\n", count: 8)
        decoder.feed(bytes(atLimits))
        XCTAssertEqual(decoder.drain().count, 4)
    }

    func testClaimedSizesAllocateNothingUntilBytesArrive() throws {
        var decoder = RESPDecoder()
        decoder.feed(bytes("*1048576\r\n$536870912\r\n"))
        XCTAssertNil(try decoder.next())
        XCTAssertEqual(decoder.open.count, 1)
        XCTAssertEqual(decoder.bufferedByteCount, 12)
        XCTAssertLessThan(decoder.bufferCapacity, 4096)
    }

    func testLargeBulkInSmallChunksIsParsedOnlyWhenComplete() throws {
        let payload = (0..<4 * 1024 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let wire = bytes("$\(payload.count)\r\n") + payload + bytes("\r\n")
        var decoder = RESPDecoder()
        var reply: RESPValue?
        var feeds = 0
        for start in stride(from: 0, to: wire.count, by: 1024) {
            XCTAssertNil(reply)
            wire[start..<min(wire.count, start + 1024)].withUnsafeBytes { decoder.feed($0) }
            feeds += 1
            reply = try decoder.next()
        }
        XCTAssertEqual(feeds, 4097)
        XCTAssertEqual(reply, .bulkString(payload))
        XCTAssertLessThanOrEqual(decoder.parseAttempts, 2)
    }

    func testLargeArrayInSmallChunksParsesEachElementOnce() throws {
        let count = 100_000
        let wire = bytes("*\(count)\r\n" + String(repeating: ":12\r\n", count: count))
        var decoder = RESPDecoder()
        var replies: [RESPValue] = []
        var feeds = 0
        for start in stride(from: 0, to: wire.count, by: 7) {
            decoder.feed(Array(wire[start..<min(wire.count, start + 7)]))
            feeds += 1
            replies += decoder.drain()
        }
        XCTAssertEqual(replies, [.array(Array(repeating: .integer(12), count: count))])
        XCTAssertLessThanOrEqual(decoder.parseAttempts, count + 1 + feeds)
    }

    func testLongLineOneByteAtATime() throws {
        let text = String(repeating: "x", count: 65_536)
        var decoder = RESPDecoder()
        var reply: RESPValue?
        for byte in bytes("+" + text + "\r\n") {
            XCTAssertNil(reply)
            decoder.feed([byte])
            reply = try decoder.next()
        }
        XCTAssertEqual(reply, .simpleString(text))
    }
}
