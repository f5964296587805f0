import XCTest

@testable import RESP

/// `next(keepingArraysEncoded:)` hands a top-level array back as its bytes, checked but not
/// built, and `RESPReader` walks those bytes.
final class RESPEncodedArrayTests: XCTestCase {
    /// What a record read's EXEC answers: HGETALL's pairs and TTL.
    static let execReply = bytes(
        "*2\r\n*6\r\n$4\r\n_gen\r\n$1\r\n3\r\n$6\r\nb:name\r\n$7\r\n\"Alice\"\r\n$5\r\nb:age\r\n$2\r\n30\r\n:-1\r\n")

    func testArrayComesBackAsItsBytesWholeAndByteByByte() throws {
        // Leading replies decoded as usual, then the array kept encoded, then a normal reply.
        let stream = bytes("+OK\r\n+QUEUED\r\n") + Self.execReply + bytes("*1\r\n:7\r\n")
        for chunk in [stream.count, 1, 3, 7] {
            var decoder = RESPDecoder()
            var replies: [RESPValue] = []
            var start = 0
            while start < stream.count {
                decoder.feed(Array(stream[start..<min(start + chunk, stream.count)]))
                start += chunk
                while true {
                    // Only the third reply (the EXEC's) asks to be kept encoded.
                    guard let reply = try decoder.next(keepingArraysEncoded: replies.count == 2) else { break }
                    replies.append(reply)
                }
            }
            XCTAssertEqual(
                replies,
                [.simpleString("OK"), .simpleString("QUEUED"), .encodedArray(Self.execReply), .array([.integer(7)])],
                "chunk \(chunk)")
            XCTAssertEqual(decoder.bufferedByteCount, 0)
        }
    }

    func testOnlyArraysAreKeptEncoded() throws {
        var decoder = RESPDecoder()
        decoder.feed(bytes("-EXECABORT Transaction discarded\r\n*-1\r\n:5\r\n*0\r\n"))
        XCTAssertEqual(try decoder.next(keepingArraysEncoded: true), .error("EXECABORT Transaction discarded"))
        XCTAssertEqual(try decoder.next(keepingArraysEncoded: true), .array(nil))
        XCTAssertEqual(try decoder.next(keepingArraysEncoded: true), .integer(5))
        XCTAssertEqual(try decoder.next(keepingArraysEncoded: true), .encodedArray(bytes("*0\r\n")))
        XCTAssertNil(try decoder.next(keepingArraysEncoded: true))
    }

    func testLimitsStillApplyInsideAnEncodedArray() {
        var decoder = RESPDecoder(limits: RESPLimits(maxBulkLength: 4, maxElements: 2, maxDepth: 2))
        decoder.feed(bytes("*1\r\n$5\r\nhello\r\n"))
        XCTAssertThrowsError(try decoder.next(keepingArraysEncoded: true)) { error in
            XCTAssertEqual(error as? RESPDecodeError, .bulkTooLong(5))
        }
        var deep = RESPDecoder(limits: RESPLimits(maxDepth: 2))
        deep.feed(bytes("*1\r\n*1\r\n*1\r\n:1\r\n"))
        XCTAssertThrowsError(try deep.next(keepingArraysEncoded: true)) { error in
            XCTAssertEqual(error as? RESPDecodeError, .tooDeep(3))
        }
        var malformed = RESPDecoder()
        malformed.feed(bytes("*1\r\n$3\r\nabcX\r\n"))
        XCTAssertThrowsError(try malformed.next(keepingArraysEncoded: true))
    }

    /// A large partly received array survives the buffer compaction that `feed` does.
    func testPartialEncodedArraySurvivesCompaction() throws {
        var expected = bytes("*40\r\n")
        for index in 0..<40 { expected += bytes("$10\r\nvalue-\(1000 + index)\r\n") }
        var decoder = RESPDecoder()
        var stream = bytes("+OK\r\n") + expected
        // Feed the leading reply and a little of the array, decode, then the rest in pieces.
        decoder.feed(Array(stream[..<20]))
        XCTAssertEqual(try decoder.next(keepingArraysEncoded: false), .simpleString("OK"))
        XCTAssertNil(try decoder.next(keepingArraysEncoded: true))
        stream.removeFirst(20)
        var result: RESPValue?
        while !stream.isEmpty {
            decoder.feed(Array(stream.prefix(50)))
            stream.removeFirst(min(50, stream.count))
            if let reply = try decoder.next(keepingArraysEncoded: true) { result = reply }
        }
        XCTAssertEqual(result, .encodedArray(expected))
    }

    func testReaderWalksTheReply() {
        var reader = RESPReader(Self.execReply)
        XCTAssertEqual(reader.next(), .array(2))
        let valuesAt = reader.index
        XCTAssertEqual(reader.nextSkippingContents(), .array(6))
        XCTAssertEqual(reader.next(), .integer(-1))
        XCTAssertNil(reader.next())

        reader = RESPReader(Self.execReply, at: valuesAt)
        XCTAssertEqual(reader.next(), .array(6))
        var texts: [String] = []
        while case .bulk(let range?)? = reader.next() { texts.append(reader.text(range)) }
        XCTAssertEqual(texts, ["_gen", "3", "b:name", "\"Alice\"", "b:age", "30"])
    }

    func testReaderElementKinds() {
        var reader = RESPReader(
            bytes("$-1\r\n*-1\r\n+QUEUED\r\n-WRONGTYPE x\r\n$0\r\n\r\n*2\r\n*1\r\n:1\r\n:2\r\n:3\r\n"))
        XCTAssertEqual(reader.next(), .bulk(nil))
        XCTAssertEqual(reader.next(), .array(nil))
        guard case .simpleString(let simple)? = reader.next(), case .error(let error)? = reader.next() else {
            return XCTFail("expected a simple string and an error")
        }
        XCTAssertEqual(reader.text(simple), "QUEUED")
        XCTAssertEqual(reader.text(error), "WRONGTYPE x")
        guard case .bulk(let empty?)? = reader.next() else { return XCTFail("expected an empty bulk") }
        XCTAssertTrue(empty.isEmpty)
        XCTAssertEqual(reader.nextSkippingContents(), .array(2))
        XCTAssertEqual(reader.next(), .integer(3))
        XCTAssertNil(reader.next())
        // Truncated or foreign bytes end the walk.
        var truncated = RESPReader(bytes("$5\r\nab\r\n"))
        XCTAssertNil(truncated.next())
        var resp3 = RESPReader(bytes("#t\r\n"))
        XCTAssertNil(resp3.next())
    }
}
