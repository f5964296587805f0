import Foundation
import TestSupport
import XCTest

/// The record path as redis sees it: plain reads are one HGETALL or HMGET (no
/// transaction, no script), writes keep TTLs and drop stale bins, stored JSON comes back canonical,
/// and a batch of 5,000 reads fits the defaults while `--max-batch-items` lowers the cap.
final class RecordPathTests: GatewayOverRedisTestCase {
    private func calls(_ command: String) throws -> Int { try redis.commandCalls(command) }

    func testAReadIsOnePlainCommandWithoutAScriptOrTransaction() throws {
        let path = "/v1/kv/test/users/reader"
        XCTAssertEqual(
            try call("PUT", path + "?ttl=300", body: #"{"bins":{"a":1,"b":"two","c":[true,null]}}"#).status, 201)
        let scriptsBefore = try calls("evalsha") + calls("eval")
        let execsBefore = try calls("exec")
        let plainReadsBefore = try calls("hgetall") + calls("hmget")

        let read = try call("GET", path)
        XCTAssertEqual(read.status, 200)
        XCTAssertEqual(
            read.bodyText.hasPrefix(#"{"bins":{"a":1,"b":"two","c":[true,null]},"generation":1,"ttl":"#), true,
            read.bodyText)
        XCTAssertEqual(read.header("ETag"), "\"1\"")
        let ttl = read.json?["ttl"] as? Int ?? 0
        XCTAssertTrue((290...300).contains(ttl), "ttl \(ttl)")

        let some = try call("GET", path + "?bins=c,a,zz,a")
        XCTAssertEqual(some.status, 200)
        XCTAssertTrue(some.bodyText.hasPrefix(#"{"bins":{"c":[true,null],"a":1},"generation":1,"ttl":"#), some.bodyText)
        XCTAssertEqual(try call("HEAD", path).status, 200)
        XCTAssertEqual(try call("GET", "/v1/kv/test/users/nobody").status, 404)
        XCTAssertEqual(try call("GET", "/v1/kv/test/users/nobody?bins=a").status, 404)

        XCTAssertEqual(try calls("evalsha") + calls("eval"), scriptsBefore, "reads run no script")
        XCTAssertEqual(try calls("exec"), execsBefore, "reads run no transaction")
        XCTAssertEqual(try calls("hgetall") + calls("hmget"), plainReadsBefore + 5, "one command per read")
    }

    func testStoredJSONComesBackCanonicalAndBadJSONIs502() throws {
        try redis.cli([
            "HSET", "sg:{test/s/raw}", "_gen", "4", "b:list", "[1, 2 ,3]", "b:n", "1.50", "b:s", "\"caf\\u00e9\"",
            "b:i", "007",
        ])
        try redis.cli(["HSET", "sg:{test/s/raw}", "b:esc", "\"a\\\"b\"", "other", "x"])
        let read = try call("GET", "/v1/kv/test/s/raw")
        XCTAssertEqual(read.status, 502, "007 is not JSON: \(read.bodyText)")
        try redis.cli(["HDEL", "sg:{test/s/raw}", "b:i"])
        let fixed = try call("GET", "/v1/kv/test/s/raw")
        XCTAssertEqual(fixed.status, 200)
        XCTAssertEqual(
            fixed.bodyText, #"{"bins":{"list":[1,2,3],"n":1.5,"s":"café","esc":"a\"b"},"generation":4,"ttl":-1}"#)
        XCTAssertEqual(fixed.header("ETag"), "\"4\"")
    }

    /// The same from `_b`: stored text that is JSON but not canonical comes back
    /// canonical; a `_b` whose lengths do not add up is a 502, not a guess.
    func testBinsFieldComesBackCanonicalAndAMalformedOneIs502() throws {
        let bins = StoredBins.encode([
            ("list", "[1, 2 ,3]"), ("n", "1.50"), ("s", #""caf\u00e9""#), ("esc", #""a\"b""#), ("c:o:l", "2"),
        ])
        try redis.cli(["HSET", "sg:{test/s/blob}", "_gen", "2", "_exp", "0", "_b", bins, "b:ignored", "1"])
        let read = try call("GET", "/v1/kv/test/s/blob")
        XCTAssertEqual(
            read.bodyText,
            #"{"bins":{"list":[1,2,3],"n":1.5,"s":"café","esc":"a\"b","c:o:l":2},"generation":2,"ttl":-1}"#,
            "`_b` wins over a `b:` field left behind")
        XCTAssertEqual(
            try call("GET", "/v1/kv/test/s/blob?bins=esc,nope,n").bodyText,
            #"{"bins":{"esc":"a\"b","n":1.5},"generation":2,"ttl":-1}"#)
        for malformed in ["4:list", "4:list9:[1", "x:a1:1", "1:a1:12"] {
            try redis.cli(["HSET", "sg:{test/s/blob}", "_b", malformed])
            let broken = try call("GET", "/v1/kv/test/s/blob")
            XCTAssertEqual(broken.status, 502, "\(malformed): \(broken.bodyText)")
        }
    }

    func testWritesDropStaleBinsAndLeaveAnUntouchedTTLAlone() throws {
        let path = "/v1/kv/test/users/writer"
        XCTAssertEqual(try call("PUT", path + "?ttl=1000", body: #"{"bins":{"a":1,"b":2,"c":3}}"#).status, 201)
        try redis.cli(["PEXPIRE", "sg:{test/users/writer}", "999700"])
        let replaced = try call("PUT", path, body: #"{"bins":{"b":20,"d":4}}"#)
        XCTAssertEqual(replaced.status, 200)
        XCTAssertEqual(replaced.bodyText, #"{"bins":{"b":20,"d":4},"generation":2,"ttl":1000}"#)
        let fields = try redis.cli(["HKEYS", "sg:{test/users/writer}"]).split(separator: "\n").sorted()
        XCTAssertEqual(fields, ["_b", "_exp", "_gen"])
        XCTAssertEqual(try redis.storedBinNames("sg:{test/users/writer}"), ["b", "d"])
        let pttl = Int(try redis.cli(["PTTL", "sg:{test/users/writer}"])) ?? 0
        XCTAssertTrue(pttl <= 999_700 && pttl > 990_000, "the expiry is kept, not rounded and set again: \(pttl)")

        // Same bins again: nothing stale; then no TTL at all.
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"b":21,"d":5}}"#).json?["generation"] as? Int, 3)
        let persisted = try call("PUT", path + "?ttl=-1", body: #"{"bins":{"b":22}}"#)
        XCTAssertEqual(persisted.bodyText, #"{"bins":{"b":22},"generation":4,"ttl":-1}"#)
        XCTAssertEqual(try redis.cli(["TTL", "sg:{test/users/writer}"]), "-1")
        XCTAssertEqual(
            try redis.cli(["HKEYS", "sg:{test/users/writer}"]).split(separator: "\n").sorted(), ["_b", "_exp", "_gen"])
        XCTAssertEqual(try redis.storedBinNames("sg:{test/users/writer}"), ["b"])

        // PATCH: bins in the hash's order, new ones last, removed ones gone.
        let patched = try call("PATCH", path, body: #"{"bins":{"z":1,"b":null,"a":"x"}}"#)
        XCTAssertEqual(patched.bodyText, #"{"bins":{"z":1,"a":"x"},"generation":5,"ttl":-1}"#)
        XCTAssertEqual(try call("PATCH", path + "?ttl=50", body: #"{"bins":{"z":2}}"#).json?["ttl"] as? Int, 50)
        XCTAssertEqual(try call("GET", path).bodyText, #"{"bins":{"z":2,"a":"x"},"generation":6,"ttl":50}"#)

        // Conditional writes still refuse atomically.
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"a":1}}"#, headers: ["If-Match": "\"5\""]).status, 412)
        XCTAssertEqual(try call("POST", path, body: #"{"bins":{"a":1}}"#).status, 409)
        XCTAssertEqual(try call("GET", path).json?["generation"] as? Int, 6)
    }

    private func batchOfReads(_ count: Int) -> String {
        let items = (0..<count).map { #"{"op":"get","namespace":"test","set":"many","key":"k\#($0)"}"# }
        return #"{"operations":["# + items.joined(separator: ",") + "]}"
    }

    func testABatchOf5000ReadsWorksWithTheDefaults() throws {
        for index in stride(from: 0, to: 5000, by: 1000) {
            XCTAssertEqual(
                try call("PUT", "/v1/kv/test/many/k\(index)", body: #"{"bins":{"i":\#(index)}}"#).status, 201)
        }
        let body = batchOfReads(5000)
        XCTAssertLessThan(body.utf8.count, 1 << 20, "fits the default body limit")
        let response = try call("POST", "/v1/batch", body: body)
        XCTAssertEqual(response.status, 200, response.bodyText.prefix(300).description)
        let results = response.json?["results"] as? [[String: Any]] ?? []
        XCTAssertEqual(results.count, 5000)
        XCTAssertEqual(results.map { $0["index"] as? Int ?? -1 }, Array(0..<5000))
        let found = results.filter { $0["status"] as? Int == 200 }
        XCTAssertEqual(found.count, 5)
        XCTAssertEqual(results.filter { $0["status"] as? Int == 404 }.count, 4995)
        XCTAssertEqual(((results[3000]["record"] as? [String: Any])?["bins"] as? [String: Any])?["i"] as? Int, 3000)

        let streamed = try call("POST", "/v1/batch", body: body, headers: ["Accept": "application/x-ndjson"])
        XCTAssertEqual(streamed.status, 200)
        XCTAssertEqual(streamed.bodyText.split(separator: "\n").count, 5000)

        let tooMany = try call("POST", "/v1/batch", body: batchOfReads(5001))
        XCTAssertEqual(tooMany.status, 413)
        XCTAssertEqual(tooMany.errorCode, "batch_too_large")
    }

    func testMaxBatchItemsLowersTheLimit() throws {
        let small = try GatewayProcess(arguments: ["--store", redis.url, "--max-batch-items", "10"])
        defer { XCTAssertEqual(small.stop(), 0, small.log) }
        let refused = try small.call("POST", "/v1/batch", body: batchOfReads(11))
        XCTAssertEqual(refused.status, 413)
        XCTAssertEqual(refused.errorCode, "batch_too_large")
        XCTAssertEqual(try small.call("POST", "/v1/batch", body: batchOfReads(10)).status, 200)
    }
}
