import HTTP
import JSON
import TestSupport
import XCTest

@testable import Gateway
@testable import RESP

/// A record read's reply (HGETALL, HMGET, or the old layout's EXEC), kept encoded, to the record JSON: the shapes the store
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
        // HMGET `_gen _b b:a b:missing b:list`: no `_b`, the `b:` values.
        let reply = try execReply("*2\r\n*5\r\n$1\r\n3\r\n$-1\r\n$4\r\ntrue\r\n$-1\r\n$3\r\n[1]\r\n:-1\r\n")
        let selected = ["a", "missing", "list"].map(BinName.fieldBytes)
        let record = try XCTUnwrap(try StoredRecord(execReply: reply, selected: selected))
        XCTAssertEqual(record.generation, 3)
        XCTAssertEqual(try json(record), #"{"bins":{"a":true,"list":[1]},"generation":3,"ttl":-1}"#)
    }

    /// The old layout's transaction runs after a first read found no `_exp`; a replace in
    /// between moves the bins into `_b` and may leave `b:` fields until `convert`: the
    /// second read shows `_b`'s bins with the generation that wrote them, never the old ones.
    func testTheOldLayoutsTransactionReadsTheBinsFieldWhenAReplaceCameBetween() throws {
        let blob = StoredBins.encode([("list", "[2]"), ("new", "1")])
        let all = try execReply(
            "*2\r\n*8\r\n$4\r\n_gen\r\n$1\r\n4\r\n$3\r\nb:a\r\n$4\r\ntrue\r\n"
                + "$2\r\n_b\r\n$\(blob.utf8.count)\r\n\(blob)\r\n$4\r\n_exp\r\n$1\r\n0\r\n:70\r\n")
        let record = try XCTUnwrap(try StoredRecord(execReply: all, selected: nil))
        XCTAssertEqual(try json(record), #"{"bins":{"list":[2],"new":1},"generation":4,"ttl":70}"#)
        let some = try execReply(
            "*2\r\n*5\r\n$1\r\n4\r\n$\(blob.utf8.count)\r\n\(blob)\r\n$4\r\ntrue\r\n$-1\r\n$3\r\n[1]\r\n:70\r\n")
        let selected = try XCTUnwrap(
            try StoredRecord(execReply: some, selected: ["a", "missing", "list"].map(BinName.fieldBytes)))
        XCTAssertEqual(try json(selected), #"{"bins":{"list":[2]},"generation":4,"ttl":70}"#)
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

    private func lookup(_ wire: String, selected: [String]? = nil, nowMs: Int64 = 1_000_000) throws
        -> StoredRecord.Lookup
    {
        try StoredRecord.lookup(
            plainReply: try execReply(wire), selected: selected?.map(BinName.fieldBytes), nowMs: nowMs)
    }

    func testOneHGETALLAnswersWithTheTTLFromTheExpiryField() throws {
        // Bins before and after the meta fields (a record moved from the old layout has them last).
        let wire =
            "*8\r\n$3\r\nb:a\r\n$1\r\n1\r\n$4\r\n_gen\r\n$1\r\n7\r\n$4\r\n_exp\r\n$7\r\n1250400\r\n"
            + "$3\r\nb:b\r\n$3\r\n\"x\"\r\n"
        guard case .found(let record) = try lookup(wire) else { return XCTFail("a record") }
        XCTAssertEqual(record.generation, 7)
        XCTAssertEqual(try json(record), #"{"bins":{"a":1,"b":"x"},"generation":7,"ttl":250}"#, "250.4 s rounds to 250")
        guard case .found(let later) = try lookup(wire, nowMs: 1_249_600) else { return XCTFail("a record") }
        XCTAssertEqual(later.ttl, 1, "0.8 s rounds to 1, as Redis's TTL rounds")
        guard case .found(let past) = try lookup(wire, nowMs: 1_300_000) else { return XCTFail("a record") }
        XCTAssertEqual(past.ttl, 0, "a clock ahead of the store's never shows a negative TTL")
        let never = "*4\r\n$4\r\n_gen\r\n$1\r\n2\r\n$4\r\n_exp\r\n$1\r\n0\r\n"
        guard case .found(let forever) = try lookup(never) else { return XCTFail("a record") }
        XCTAssertEqual(try json(forever), #"{"bins":{},"generation":2,"ttl":-1}"#)
    }

    func testHMGETOfSelectedBinsAfterGenerationExpiryAndBinsField() throws {
        // A record in `b:` fields: `_b` is null, the asked fields' values follow.
        let wire = "*6\r\n$1\r\n3\r\n$7\r\n1010000\r\n$-1\r\n$4\r\ntrue\r\n$-1\r\n$3\r\n[1]\r\n"
        guard case .found(let record) = try lookup(wire, selected: ["a", "missing", "list"]) else {
            return XCTFail("a record")
        }
        XCTAssertEqual(try json(record), #"{"bins":{"a":true,"list":[1]},"generation":3,"ttl":10}"#)
        // With `_b`, the asked bins come from it, in the order asked; `b:` values are ignored.
        let blob = StoredBins.encode([("a", "true"), ("list", "[1]"), ("z", #""zz""#)])
        let withBlob = "*6\r\n$1\r\n3\r\n$1\r\n0\r\n$\(blob.utf8.count)\r\n\(blob)\r\n$1\r\n9\r\n$-1\r\n$-1\r\n"
        guard case .found(let fromBlob) = try lookup(withBlob, selected: ["list", "missing", "a"]) else {
            return XCTFail("a record")
        }
        XCTAssertEqual(try json(fromBlob), #"{"bins":{"list":[1],"a":true},"generation":3,"ttl":-1}"#)
        guard case .missing = try lookup("*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n", selected: ["a"]) else {
            return XCTFail("no record")
        }
        guard case .oldLayout = try lookup("*4\r\n$1\r\n3\r\n$-1\r\n$-1\r\n$1\r\n1\r\n", selected: ["a"]) else {
            return XCTFail("a record without _exp")
        }
    }

    func testOneHGETALLWithTheBinsFieldAnywhereInTheHash() throws {
        let blob = StoredBins.encode([("name", #""Ann""#), ("n", "12"), ("odd:name", "[1,{\"a\":2}]")])
        let wire =
            "*8\r\n$4\r\n_gen\r\n$1\r\n5\r\n$2\r\n_b\r\n$\(blob.utf8.count)\r\n\(blob)\r\n"
            + "$3\r\nb:x\r\n$1\r\n1\r\n$4\r\n_exp\r\n$1\r\n0\r\n"
        guard case .found(let record) = try lookup(wire) else { return XCTFail("a record") }
        XCTAssertEqual(
            try json(record), #"{"bins":{"name":"Ann","n":12,"odd:name":[1,{"a":2}]},"generation":5,"ttl":-1}"#)
        XCTAssertEqual(try record.record().bins.count, 3)
        let empty = "*6\r\n$4\r\n_gen\r\n$1\r\n1\r\n$2\r\n_b\r\n$0\r\n\r\n$4\r\n_exp\r\n$1\r\n0\r\n"
        guard case .found(let none) = try lookup(empty) else { return XCTFail("a record") }
        XCTAssertEqual(try json(none), #"{"bins":{},"generation":1,"ttl":-1}"#)
    }

    func testNoGenerationIsMissingAndNoExpiryIsTheOldLayout() throws {
        guard case .missing = try lookup("*0\r\n") else { return XCTFail("no record") }
        guard case .oldLayout = try lookup("*4\r\n$4\r\n_gen\r\n$1\r\n4\r\n$3\r\nb:a\r\n$1\r\n1\r\n") else {
            return XCTFail("a record without _exp")
        }
        for wire in ["*2\r\n:1\r\n:1\r\n", "*2\r\n$4\r\n_gen\r\n*0\r\n", ":1\r\n"] {
            XCTAssertThrowsError(try lookup(wire), wire)
        }
        XCTAssertThrowsError(try lookup("*1\r\n$1\r\n1\r\n", selected: ["a"]))
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
