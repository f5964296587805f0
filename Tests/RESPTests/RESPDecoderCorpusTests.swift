import TestSupport
import XCTest

@testable import RESP

/// Every corpus entry must decode to the same values whole, split at every byte, one byte at a
/// time, and inside a long stream cut into random chunks.
final class RESPDecoderCorpusTests: XCTestCase {
    static let depth32: (String, RESPValue) = {
        var value = RESPValue.integer(1)
        for _ in 0..<32 { value = .array([value]) }
        return (String(repeating: "*1\r\n", count: 32) + ":1\r\n", value)
    }()

    static let corpus: [(wire: [UInt8], values: [RESPValue])] = [
        // RESP2 scalars
        (bytes("+OK\r\n"), [.simpleString("OK")]),
        (bytes("+\r\n"), [.simpleString("")]),
        (bytes("+héllo wörld\r\n"), [.simpleString("héllo wörld")]),
        (bytes("-ERR unknown command 'FOO'\r\n"), [.error("ERR unknown command 'FOO'")]),
        (bytes("-MOVED 3999 127.0.0.1:6381\r\n"), [.error("MOVED 3999 127.0.0.1:6381")]),
        (bytes(":0\r\n"), [.integer(0)]),
        (bytes(":-1\r\n"), [.integer(-1)]),
        (bytes(":+7\r\n"), [.integer(7)]),
        (bytes(":1000\r\n"), [.integer(1000)]),
        (bytes(":9223372036854775807\r\n"), [.integer(.max)]),
        (bytes(":-9223372036854775808\r\n"), [.integer(.min)]),
        (bytes("$3\r\nfoo\r\n"), [.bulkString(bytes("foo"))]),
        (bytes("$0\r\n\r\n"), [.bulkString([])]),
        (bytes("$-1\r\n"), [.bulkString(nil)]),
        (bytes("$4\r\n\r\n\r\n\r\n"), [.bulkString([13, 10, 13, 10])]),
        (bytes("$6\r\n") + [0, 255, 13, 10, 36, 42] + bytes("\r\n"), [.bulkString([0, 255, 13, 10, 36, 42])]),
        (bytes("$8\r\nключ\r\n"), [.bulkString(bytes("ключ"))]),
        // RESP2 aggregates
        (bytes("*-1\r\n"), [.array(nil)]),
        (bytes("*0\r\n"), [.array([])]),
        (bytes("*2\r\n$3\r\nfoo\r\n:42\r\n"), [.array([.bulkString(bytes("foo")), .integer(42)])]),
        (bytes("*2\r\n*1\r\n+a\r\n*0\r\n"), [.array([.array([.simpleString("a")]), .array([])])]),
        (bytes("*3\r\n$-1\r\n*-1\r\n$0\r\n\r\n"), [.array([.bulkString(nil), .array(nil), .bulkString([])])]),
        (
            bytes("*2\r\n*3\r\n:1\r\n:-2\r\n-ERR x\r\n*1\r\n*1\r\n$2\r\n\r\n\r\n"),
            [
                .array([
                    .array([.integer(1), .integer(-2), .error("ERR x")]), .array([.array([.bulkString([13, 10])])]),
                ])
            ]
        ),
        (bytes(depth32.0), [depth32.1]),
        // Back to back
        (bytes("+OK\r\n:1\r\n$-1\r\n"), [.simpleString("OK"), .integer(1), .bulkString(nil)]),
        (
            bytes("*1\r\n:1\r\n*1\r\n:2\r\n+QUEUED\r\n"),
            [.array([.integer(1)]), .array([.integer(2)]), .simpleString("QUEUED")]
        ),
        // RESP3
        (bytes("_\r\n"), [.null]),
        (bytes("#t\r\n#f\r\n"), [.boolean(true), .boolean(false)]),
        (bytes(",1.5\r\n"), [.double(1.5)]),
        (bytes(",-0.25\r\n"), [.double(-0.25)]),
        (bytes(",3\r\n"), [.double(3)]),
        (bytes(",1.23E+20\r\n"), [.double(1.23e20)]),
        (bytes(",inf\r\n,-inf\r\n"), [.double(.infinity), .double(-.infinity)]),
        (
            bytes("(3492890328409238509324850943850943825024385\r\n"),
            [.bigNumber("3492890328409238509324850943850943825024385")]
        ),
        (bytes("(-12\r\n"), [.bigNumber("-12")]),
        (bytes("=15\r\ntxt:Some string\r\n"), [.verbatim(format: "txt", text: bytes("Some string"))]),
        (bytes("=4\r\nmkd:\r\n"), [.verbatim(format: "mkd", text: [])]),
        (bytes("!21\r\nSYNTAX invalid syntax\r\n"), [.error("SYNTAX invalid syntax")]),
        (
            bytes("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n"),
            [
                .map([
                    RESPPair(key: .simpleString("first"), value: .integer(1)),
                    RESPPair(key: .simpleString("second"), value: .integer(2)),
                ])
            ]
        ),
        (
            bytes("%1\r\n*2\r\n:1\r\n:2\r\n~1\r\n#t\r\n"),
            [.map([RESPPair(key: .array([.integer(1), .integer(2)]), value: .set([.boolean(true)]))])]
        ),
        (bytes("%0\r\n~0\r\n>0\r\n"), [.map([]), .set([]), .push([])]),
        (bytes("~3\r\n+a\r\n+b\r\n_\r\n"), [.set([.simpleString("a"), .simpleString("b"), .null])]),
        (
            bytes(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"),
            [.push([.bulkString(bytes("message")), .bulkString(bytes("ch")), .bulkString(bytes("hello"))])]
        ),
        // Attributes are skipped, at top level and inside aggregates
        (
            bytes("|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n")
                + bytes("*2\r\n:2039123\r\n:9543892\r\n"),
            [.array([.integer(2_039_123), .integer(9_543_892)])]
        ),
        (bytes("*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n|0\r\n:2\r\n"), [.array([.integer(1), .integer(2)])]),
    ]

    static func decodeAll(_ chunks: [ArraySlice<UInt8>], file: StaticString = #filePath, line: UInt = #line)
        -> [RESPValue]
    {
        var decoder = RESPDecoder()
        var values: [RESPValue] = []
        for chunk in chunks {
            decoder.feed(Array(chunk))
            values += decoder.drain(file: file, line: line)
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0, file: file, line: line)
        return values
    }

    func testWhole() {
        for (wire, expected) in Self.corpus {
            XCTAssertEqual(Self.decodeAll([wire[...]]), expected, String(decoding: wire, as: UTF8.self))
        }
    }

    func testSplitAtEveryByte() {
        for (wire, expected) in Self.corpus {
            for split in 1..<wire.count {
                var decoder = RESPDecoder()
                decoder.feed(Array(wire[..<split]))
                let early = decoder.drain()
                if expected.count == 1 {
                    XCTAssertEqual(early, [], "split at \(split) of \(String(decoding: wire, as: UTF8.self))")
                }
                decoder.feed(Array(wire[split...]))
                XCTAssertEqual(
                    early + decoder.drain(), expected, "split at \(split) of \(String(decoding: wire, as: UTF8.self))")
            }
        }
    }

    func testOneByteAtATime() {
        for (wire, expected) in Self.corpus {
            XCTAssertEqual(Self.decodeAll(wire.map { [$0][...] }), expected, String(decoding: wire, as: UTF8.self))
        }
    }

    func testCorpusStreamInRandomChunks() {
        var rng = SeededGenerator(seed: 0x5EED)
        var wire: [UInt8] = []
        var expected: [RESPValue] = []
        for _ in 0..<20 {
            for (entryWire, entryValues) in Self.corpus.shuffled(using: &rng) {
                wire += entryWire
                expected += entryValues
            }
        }
        for maxChunk in [1, 7, 64, 1500] {
            let chunks = Self.chunks(of: wire, maxChunk: maxChunk, using: &rng)
            XCTAssertEqual(Self.decodeAll(chunks), expected, "chunks ≤ \(maxChunk)")
        }
    }

    func testGeneratedRepliesRoundTripInRandomChunks() {
        var generator = ReplyGenerator(rng: SeededGenerator(seed: 42))
        let values = (0..<500).map { _ in generator.value() }
        let wire = ReplyEncoder.encode(values)
        for maxChunk in [3, 100, 5000, wire.count] {
            XCTAssertEqual(Self.decodeAll(Self.chunks(of: wire, maxChunk: maxChunk, using: &generator.rng)), values)
        }
    }

    func testNaN() throws {
        for spelling in [",nan\r\n", ",-nan\r\n"] {
            var decoder = RESPDecoder()
            decoder.feed(bytes(spelling))
            guard case .double(let value)? = try decoder.next() else { return XCTFail(spelling) }
            XCTAssertTrue(value.isNaN)
        }
    }

    func testIncompleteBulkIsNotReparsedUntilItsBytesArrive() throws {
        var decoder = RESPDecoder()
        decoder.feed(bytes("$5\r\nhel"))
        XCTAssertNil(try decoder.next())
        let attempts = decoder.parseAttempts
        decoder.feed(bytes("lo\r"))
        XCTAssertNil(try decoder.next())
        XCTAssertEqual(decoder.parseAttempts, attempts)
        decoder.feed(bytes("\n"))
        XCTAssertEqual(try decoder.next(), .bulkString(bytes("hello")))
        XCTAssertEqual(decoder.parseAttempts, attempts + 1)
    }

    func testBufferedByteCountAndCapacityRelease() throws {
        var decoder = RESPDecoder()
        decoder.feed(bytes("+OK\r\n:1"))
        XCTAssertEqual(decoder.bufferedByteCount, 7)
        XCTAssertEqual(try decoder.next(), .simpleString("OK"))
        XCTAssertEqual(decoder.bufferedByteCount, 2)
        XCTAssertNil(try decoder.next())
        decoder.feed(bytes("\r\n"))
        XCTAssertEqual(try decoder.next(), .integer(1))
        XCTAssertEqual(decoder.bufferedByteCount, 0)

        let big = [UInt8](repeating: 7, count: 200_000)
        let wire = bytes("$200000\r\n") + big + bytes("\r\n")
        wire.withUnsafeBytes { decoder.feed($0) }
        XCTAssertEqual(try decoder.next(), .bulkString(big))
        XCTAssertLessThanOrEqual(decoder.bufferCapacity, RESPDecoder.retainedCapacity, "an idle decoder holds little")
    }

    static func chunks(of wire: [UInt8], maxChunk: Int, using rng: inout SeededGenerator) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        while start < wire.count {
            let end = min(wire.count, start + Int.random(in: 1...maxChunk, using: &rng))
            result.append(wire[start..<end])
            start = end
        }
        return result
    }
}
