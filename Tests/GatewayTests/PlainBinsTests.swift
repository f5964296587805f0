import Foundation
import JSON
import RESP
import TestSupport
import XCTest

@testable import Gateway

/// `PlainBins` reads a PUT body in one scan instead of a `JSONValue` tree. Whatever it
/// accepts must give the store the very arguments and the response the very JSON the
/// tree path gives; whatever it does not accept goes to the tree path, so every error
/// stays that path's. Checked over a table of bodies and over generated ones.
final class PlainBinsTests: XCTestCase {
    /// Bodies the scan must accept.
    private static let plain: [String] = [
        #"{"bins":{"name":"Alice","age":30,"city":"Rome"}}"#,
        #"{"bins":{}}"#,
        #" { "bins" : { } } "#,
        "{\r\n\t\"bins\": {\n  \"a\": 1,\n  \"b\": \"x\"\n}\n}\n",
        #"{"bins":{"a":null}}"#,
        #"{"bins":{"a":1,"b":null,"c":true,"d":false}}"#,
        #"{"bins":{"a":0,"b":-1,"c":123456789012345678,"d":-123456789012345678}}"#,
        "{\"bins\":{\"a\":\"\",\"b\":\" spaces / and \u{7F} \",\"c\":\"~!@#$%^&*()\"}}",
        #"{"bins":{"A-z_0.9":1,"x":2}}"#,
        "{\"bins\":{\"\(String(repeating: "n", count: 64))\":1}}",
    ]

    /// Bodies the scan must leave to the tree path (valid or not).
    private static let notPlain: [String] = [
        #"{"bins":{"a":"\u0041"}}"#,
        #"{"bins":{"a":"\/"}}"#,
        #"{"bins":{"a":"é"}}"#,
        #"{"bins":{"a":1.5}}"#,
        #"{"bins":{"a":1e3}}"#,
        #"{"bins":{"a":1E3}}"#,
        #"{"bins":{"a":-0}}"#,
        #"{"bins":{"a":01}}"#,
        #"{"bins":{"a":1234567890123456789}}"#,
        #"{"bins":{"a":[1]}}"#,
        #"{"bins":{"a":{"b":1}}}"#,
        #"{"bins":{"a":1,"a":2}}"#,
        #"{"bins":{"a":1,"a":null}}"#,
        #"{"bins":{"bad name":1}}"#,
        #"{"bins":{"":1}}"#,
        "{\"bins\":{\"\(String(repeating: "n", count: 65))\":1}}",
        #"{"bins":{"\u0061":1}}"#,
        #"{"\u0062ins":{"a":1}}"#,
        #"{"bins":{"a":1},"x":2}"#,
        #"{"x":2,"bins":{"a":1}}"#,
        #"{"bins":{"a":1,}}"#,
        #"{"bins":{"a":1}"#,
        #"{"bins":{"a":1}}x"#,
        #"{"bins":{"a":1}} {}"#,
        #"{"bins":{"a":tru}}"#,
        #"{"bins":{"a":truex}}"#,
        #"{"bins":{"a":nul}}"#,
        #"{"bins":{"a":"open}}"#,
        "{\"bins\":{\"a\":\"tab\there\"}}",
        #"{"bins":[]}"#,
        #"{"bins":null}"#,
        #"{"bins":{"a" 1}}"#,
        #"{"bins":{a:1}}"#,
        #"[1]"#,
        #""#,
        #"{}"#,
        "{\"bins\":{\"a\":1}}\u{0B}",
    ]

    func testPlainBodiesGiveTheTreePathsArgumentsAndJSON() throws {
        for body in Self.plain {
            let bytes = Array(body.utf8)
            let plain = try XCTUnwrap(PlainBins(body: bytes), "not plain: \(body)")
            try assertSameWrite(.plain(plain), as: bytes, body)
        }
    }

    func testOtherBodiesAreLeftToTheTreePath() {
        for body in Self.notPlain {
            XCTAssertNil(PlainBins(body: Array(body.utf8)), "plain: \(body)")
        }
    }

    func testTooManyBinsAreLeftToTheTreePathWhichRefusesThem() throws {
        let members = (0...RecordService.maxBinsPerRecord).map { "\"b\($0)\":\($0)" }
        let body = Array("{\"bins\":{\(members.joined(separator: ","))}}".utf8)
        XCTAssertNil(PlainBins(body: body))
        let exactly = Array("{\"bins\":{\(members.dropLast().joined(separator: ","))}}".utf8)
        let plain = try XCTUnwrap(PlainBins(body: exactly))
        XCTAssertEqual(plain.members.count, RecordService.maxBinsPerRecord)
        try assertSameWrite(.plain(plain), as: exactly, "256 bins")
    }

    func testABodyOverTheJSONLimitIsLeftToTheTreePath() {
        let value = String(repeating: "x", count: JSONLimits().maxBytes)
        XCTAssertNil(PlainBins(body: Array("{\"bins\":{\"a\":\"\(value)\"}}".utf8)))
    }

    func testTheResponseJSONSharesTheBodyWhenItIsCompact() throws {
        let body = Array(#"{"bins":{"a":1,"b":"x"}}"#.utf8)
        let plain = try XCTUnwrap(PlainBins(body: body))
        XCTAssertEqual(plain.compactRange, 8..<23)
        let spaced = try XCTUnwrap(PlainBins(body: Array(#"{"bins":{"a": 1}}"#.utf8)))
        XCTAssertNil(spaced.compactRange)
        let withNull = try XCTUnwrap(PlainBins(body: Array(#"{"bins":{"a":null}}"#.utf8)))
        XCTAssertNil(withNull.compactRange)
    }

    func testAWrittenRecordsResponseJSONIsTheWritersJSONOfIt() throws {
        let bins = try XCTUnwrap(PlainBins(body: Array(#"{"bins":{"a":1,"b":null,"c":"x"}}"#.utf8)))
        let key = try RecordKey(namespace: "test", set: "users", key: "k")
        let call = try RecordService.writeCall(
            key, bins: .plain(bins), mode: .upsert, expectedGeneration: nil, ttl: nil)
        for (generation, ttl) in [(1, -1), (9, 0), (10, 9), (123_456_789_012, 315_360_000), (Int.max, 59)] {
            let written = RecordService.Written(
                bins: .plain(bins), binsJSON: call.binsJSON, generation: generation, ttl: ttl, created: false)
            XCTAssertEqual(
                String(decoding: written.responseJSON(), as: UTF8.self), JSONWriter.string(written.json()),
                "generation \(generation) ttl \(ttl)")
        }
    }

    /// Generated bodies, many near-misses: whatever the scan accepts, the tree path
    /// accepts with the same write; whatever the tree path refuses, the scan refuses.
    func testGeneratedBodiesAgreeWithTheTreePath() throws {
        var random = SeededGenerator(seed: 0x5EED)
        let names = ["a", "b", "name", "a.b", "A_1", "x-y", "a", "bad name", "é", ""]
        let values = [
            "1", "0", "-0", "-12", "007", "1.0", "2e5", "123456789012345678", "1234567890123456789", "true",
            "false", "null", "nul", "\"s\"", "\"\"", "\"a b\"", "\"\\n\"", "\"é\"", "[]", "{}", "\"x", "tru",
        ]
        let spaces = ["", "", "", " ", "\n\t"]
        var accepted = 0
        for _ in 0..<4_000 {
            var body = spaces.randomElement(using: &random)! + "{" + spaces.randomElement(using: &random)!
            body += random.next() % 16 == 0 ? "\"bin\"" : "\"bins\""
            body += spaces.randomElement(using: &random)! + ":" + spaces.randomElement(using: &random)! + "{"
            let count = Int(random.next() % 5)
            for index in 0..<count {
                if index > 0 { body += "," }
                body += spaces.randomElement(using: &random)!
                body += "\"\(names.randomElement(using: &random)!)\"" + spaces.randomElement(using: &random)! + ":"
                body += spaces.randomElement(using: &random)! + values.randomElement(using: &random)!
                body += spaces.randomElement(using: &random)!
            }
            body += "}" + spaces.randomElement(using: &random)! + "}"
            if random.next() % 16 == 0 { body.removeLast() }
            if random.next() % 16 == 0 { body += "," }
            let bytes = Array(body.utf8)
            if let plain = PlainBins(body: bytes) {
                accepted += 1
                try assertSameWrite(.plain(plain), as: bytes, body)
            }
        }
        XCTAssertGreaterThan(accepted, 400, "the generator should reach the plain path often")
    }

    /// Over real HTTP and a real redis-server: a plain body and a body with the same bins
    /// that only the tree path reads store the same hash fields and answer the same JSON;
    /// malformed bodies still get the tree path's errors.
    func testThroughTheGatewayBothPathsStoreAndAnswerAlike() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: ["--store", redis.url])
        let plain = "{ \"bins\" : {\"s\":\"Rome\", \"n\":-42,\"t\":true,\"gone\":null,\"z\":0} }"
        let tree = #"{"bins":{"s":"R\u006fme","n":-42,"t":true,"gone":null,"z":-0}}"#
        XCTAssertNotNil(PlainBins(body: Array(plain.utf8)))
        XCTAssertNil(PlainBins(body: Array(tree.utf8)))
        var answers: [String] = []
        for (key, body) in [("p", plain), ("t", tree)] {
            let created = try gateway.call("PUT", "/v1/kv/test/users/\(key)", body: body)
            XCTAssertEqual(created.status, 201, created.description)
            answers.append(created.bodyText)
            let stored = StoredBins.decode(try redis.cli(["HGET", "sg:{test/users/\(key)}", "_b"]))
            XCTAssertEqual(stored?.map(\.name), ["s", "n", "t", "z"])
            XCTAssertEqual(stored?.map(\.value), [#""Rome""#, "-42", "true", "0"])
            let read = try gateway.get("/v1/kv/test/users/\(key)")
            XCTAssertEqual(read.status, 200)
            XCTAssertTrue(read.bodyText.hasPrefix(#"{"bins":{"s":"Rome","n":-42,"t":true,"z":0},"generation":1,"#))
        }
        XCTAssertEqual(answers[0], answers[1])
        XCTAssertEqual(answers[0], #"{"bins":{"s":"Rome","n":-42,"t":true,"z":0},"generation":1,"ttl":-1}"#)
        let replaced = try gateway.call("PUT", "/v1/kv/test/users/p", body: #"{"bins":{"s":"Oslo"}}"#)
        XCTAssertEqual(replaced.status, 200)
        XCTAssertEqual(replaced.bodyText, #"{"bins":{"s":"Oslo"},"generation":2,"ttl":-1}"#)
        for (body, status, code) in [
            (#"{"bins":{"a":1,}}"#, 400, "invalid_json"), (#"{"bins":{"a":1,"a":2}}"#, 400, "invalid_json"),
            (#"{"bins":{"bad name":1}}"#, 400, "invalid_bin"), (#"{"bins":{"a":1},"x":1}"#, 400, "invalid_body"),
        ] {
            let refused = try gateway.call("PUT", "/v1/kv/test/users/bad", body: body)
            XCTAssertEqual(refused.status, status, body)
            XCTAssertEqual(refused.errorCode, code, body)
        }
        let wrongType = try gateway.call(
            "PUT", "/v1/kv/test/users/bad", body: #"{"bins":{"a":1}}"#, contentType: "text/plain")
        XCTAssertEqual(wrongType.status, 415)
        XCTAssertEqual(
            try redis.cli(["EXISTS", "sg:{test/users/bad}"]).trimmingCharacters(in: .whitespacesAndNewlines), "0")
        XCTAssertEqual(gateway.stop(), 0, gateway.log)
    }

    /// The plain read's stored bins, commands and response JSON equal the tree path's for `bytes`.
    private func assertSameWrite(_ bins: WriteBins, as bytes: [UInt8], _ label: String) throws {
        let parsed: JSONObject
        do {
            guard case .object(let object) = try JSONParser.parse(bytes) else {
                return XCTFail("not an object: \(label)")
            }
            parsed = try binsFromBody(object, allowNull: true)
        } catch {
            return XCTFail("the tree path refuses what the scan accepted: \(label): \(error)")
        }
        XCTAssertEqual(bins.count, parsed.count, label)
        let key = try RecordKey(namespace: "test", set: "users", key: "k1")
        for (mode, expected, ttl) in [(RecordService.WriteMode.upsert, nil, nil), (.replace, 3, 60)]
            as [(_, Int?, Int?)]
        {
            let fast = try RecordService.writeCall(key, bins: bins, mode: mode, expectedGeneration: expected, ttl: ttl)
            let tree = try RecordService.writeCall(
                key, bins: .parsed(parsed), mode: mode, expectedGeneration: expected, ttl: ttl)
            XCTAssertEqual(fast.blob, tree.blob, label)
            XCTAssertEqual(fast.scriptArguments().encoded, tree.scriptArguments().encoded, label)
            XCTAssertEqual(fast.replaceTransaction(), tree.replaceTransaction(), label)
            XCTAssertEqual(Array(fast.binsJSON), Array(tree.binsJSON), label)
            XCTAssertEqual(fast.redisKey, tree.redisKey, label)
        }
    }
}
