import HTTP
import XCTest

@testable import Gateway
@testable import RESP

/// A record read's EXEC reply, kept encoded, to the record JSON: the shapes the store
/// can answer, decoded through the same RESPDecoder mode the connection uses.
final class StoredRecordTests: XCTestCase {
    private func execReply(_ wire: String) throws -> RESPValue {
        var decoder = RESPDecoder()
        decoder.feed(Array(wire.utf8))
        return try XCTUnwrap(try decoder.next(keepingArraysEncoded: true))
    }

    private func json(_ record: StoredRecord) throws -> String {
        var out: [UInt8] = []
        try record.appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func testAllBinsWithGenerationAnywhereInTheHash() throws {
        let reply = try execReply(
            "*2\r\n*8\r\n$6\r\nb:name\r\n$7\r\n\"Alice\"\r\n$4\r\n_gen\r\n$2\r\n12\r\n"
                + "$5\r\nb:age\r\n$6\r\n[1, 2]\r\n$5\r\nother\r\n$1\r\nx\r\n:250\r\n")
        let record = try XCTUnwrap(try StoredRecord(execReply: reply, selected: nil))
        XCTAssertEqual(record.generation, 12)
        XCTAssertEqual(record.ttl, 250)
        // An array is not a canonical scalar: parsed and rewritten; fields without `b:` are not bins.
        XCTAssertEqual(try json(record), #"{"bins":{"name":"Alice","age":[1,2]},"generation":12,"ttl":250}"#)
        // The nested form (batch, scan) sees the same bins.
        let nested = RecordRoutes.recordResponse(try record.record(), status: 200).body
        XCTAssertEqual(
            String(decoding: nested, as: UTF8.self), #"{"bins":{"name":"Alice","age":[1,2]},"generation":12,"ttl":250}"#
        )
    }

    func testSelectedBinsSkipMissingOnes() throws {
        let reply = try execReply("*2\r\n*4\r\n$1\r\n3\r\n$4\r\ntrue\r\n$-1\r\n$3\r\n[1]\r\n:-1\r\n")
        let selected = ["a", "missing", "list"].map(BinName.fieldBytes)
        let record = try XCTUnwrap(try StoredRecord(execReply: reply, selected: selected))
        XCTAssertEqual(record.generation, 3)
        XCTAssertEqual(try json(record), #"{"bins":{"a":true,"list":[1]},"generation":3,"ttl":-1}"#)
    }

    func testNoGenerationMeansNoRecord() throws {
        XCTAssertNil(try StoredRecord(execReply: try execReply("*2\r\n*0\r\n:-2\r\n"), selected: nil))
        XCTAssertNil(
            try StoredRecord(
                execReply: try execReply("*2\r\n*2\r\n$-1\r\n$-1\r\n:-2\r\n"), selected: [BinName.fieldBytes("a")]))
    }

    func testErrorsAndOtherShapesAreStoreReplyErrors() throws {
        let wrongType = try execReply("*2\r\n-WRONGTYPE Operation against a key\r\n:-1\r\n")
        XCTAssertThrowsError(try StoredRecord(execReply: wrongType, selected: nil)) { error in
            XCTAssertTrue("\(error)".contains("WRONGTYPE"), "\(error)")
        }
        for wire in ["*1\r\n*0\r\n", "*2\r\n:1\r\n:1\r\n", "*2\r\n*0\r\n$1\r\n1\r\n", "*3\r\n*0\r\n:1\r\n:1\r\n"] {
            XCTAssertThrowsError(try StoredRecord(execReply: try execReply(wire), selected: nil), wire)
        }
        XCTAssertThrowsError(try StoredRecord(execReply: .array(nil), selected: nil))
    }

    func testBinThatIsNotJSONFailsTheRead() throws {
        let reply = try execReply("*2\r\n*4\r\n$4\r\n_gen\r\n$1\r\n1\r\n$3\r\nb:x\r\n$3\r\n{{{\r\n:-1\r\n")
        let record = try XCTUnwrap(try StoredRecord(execReply: reply, selected: nil))
        XCTAssertThrowsError(try json(record))
    }

    func testETagQuotesTheGeneration() {
        for (generation, expected) in [
            (0, "\"0\""), (7, "\"7\""), (1_234_567_890, "\"1234567890\""), (Int.max, "\"\(Int.max)\""),
            (-12, "\"-12\""),
        ] {
            let response = RecordRoutes.recordResponse(body: [], generation: generation, status: 200)
            var head: [UInt8] = []
            ResponseSerializer().appendHead(
                status: response.status, headers: response.headers, entityTag: response.entityTag,
                contentLength: 0, close: false, to: &head)
            let text = String(decoding: head, as: UTF8.self)
            XCTAssertTrue(text.contains("\r\nETag: \(expected)\r\n"), text)
            XCTAssertTrue(text.contains("\r\nContent-Type: application/json\r\n"), text)
            XCTAssertTrue(text.hasSuffix("\r\n\r\n"), text)
        }
    }
}
