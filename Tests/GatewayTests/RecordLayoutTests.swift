import Foundation
import TestSupport
import XCTest

/// The record hash as redis holds it: `_exp` is the key's own expiry after every write
/// that keeps, sets or clears the TTL; replace, patch and operate leave no stale bin; a
/// record written in the old layout (only `_gen` and bins) still reads with its TTL and
/// moves to the new layout on its next write; a common write makes three calls inside its script.
final class RecordLayoutTests: GatewayOverRedisTestCase {
    private func field(_ key: String, _ name: String) throws -> String { try redis.cli(["HGET", key, name]) }

    private func fields(_ key: String) throws -> [String] {
        try redis.cli(["HKEYS", key]).split(separator: "\n").map(String.init).sorted()
    }

    /// `_exp` and the key's expiry (PEXPIRETIME: -1 none) name the same instant.
    private func assertExpiryAgrees(_ key: String, expectingTTL: Bool, line: UInt = #line) throws {
        let stored = Int(try field(key, "_exp")) ?? -100
        let keyExpiry = Int(try redis.cli(["PEXPIRETIME", key])) ?? -100
        if expectingTTL {
            XCTAssertGreaterThan(stored, 0, line: line)
            XCTAssertEqual(stored, keyExpiry, "_exp is the key's expiry", line: line)
        } else {
            XCTAssertEqual(stored, 0, line: line)
            XCTAssertEqual(keyExpiry, -1, "no expiry on the key", line: line)
        }
    }

    func testExpiryFieldFollowsEveryTTLChange() throws {
        let path = "/v1/kv/test/s/exp"
        let key = "sg:{test/s/exp}"
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"a":1}}"#).status, 201)
        try assertExpiryAgrees(key, expectingTTL: false)
        XCTAssertEqual(try call("GET", path).json?["ttl"] as? Int, -1)

        let created = try call("PUT", path + "?ttl=100", body: #"{"bins":{"a":2}}"#)
        XCTAssertEqual(created.json?["ttl"] as? Int, 100, created.bodyText)
        try assertExpiryAgrees(key, expectingTTL: true)
        let set = Int(try field(key, "_exp")) ?? 0

        // Kept: neither `_exp` nor the key's expiry move; the read's TTL comes from `_exp`.
        XCTAssertEqual(try call("PATCH", path, body: #"{"bins":{"b":true}}"#).json?["ttl"] as? Int, 100)
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"a":3,"b":false}}"#).json?["ttl"] as? Int, 100)
        XCTAssertEqual(Int(try field(key, "_exp")), set)
        try assertExpiryAgrees(key, expectingTTL: true)
        let read = try call("GET", path)
        XCTAssertEqual(read.bodyText, #"{"bins":{"a":3,"b":false},"generation":4,"ttl":100}"#)
        XCTAssertEqual(try call("GET", path + "?bins=b").bodyText, #"{"bins":{"b":false},"generation":4,"ttl":100}"#)

        XCTAssertEqual(try call("PATCH", path + "?ttl=300", body: #"{"bins":{"c":1}}"#).json?["ttl"] as? Int, 300)
        try assertExpiryAgrees(key, expectingTTL: true)
        XCTAssertEqual(try call("GET", path).json?["ttl"] as? Int, 300)

        let touched = try call("POST", path + "/operate?ttl=500", body: #"{"operations":[{"op":"touch"}]}"#)
        XCTAssertEqual(touched.json?["ttl"] as? Int, 500, touched.bodyText)
        try assertExpiryAgrees(key, expectingTTL: true)
        let looked = try call("POST", path + "/operate", body: #"{"operations":[{"op":"get","bin":"a"}]}"#)
        XCTAssertEqual(looked.json?["ttl"] as? Int, 500, looked.bodyText)

        XCTAssertEqual(try call("PATCH", path + "?ttl=-1", body: #"{"bins":{"c":2}}"#).json?["ttl"] as? Int, -1)
        try assertExpiryAgrees(key, expectingTTL: false)
        XCTAssertEqual(try call("PUT", path + "?ttl=60", body: #"{"bins":{"a":4}}"#).json?["ttl"] as? Int, 60)
        try assertExpiryAgrees(key, expectingTTL: true)
        XCTAssertEqual(try call("PUT", path + "?ttl=-1", body: #"{"bins":{"a":5}}"#).json?["ttl"] as? Int, -1)
        try assertExpiryAgrees(key, expectingTTL: false)
        XCTAssertEqual(try call("GET", path).bodyText, #"{"bins":{"a":5},"generation":9,"ttl":-1}"#)
    }

    func testReplacePatchAndOperateLeaveNoStaleBin() throws {
        let path = "/v1/kv/test/s/count"
        let key = "sg:{test/s/count}"
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"a":1,"b":2,"c":3}}"#).status, 201)
        // As many bins as before, one of them new: the stale one still goes.
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"a":1,"b":2,"d":4}}"#).status, 200)
        XCTAssertEqual(try fields(key), ["_exp", "_gen", "b:a", "b:b", "b:d"])
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"e":5}}"#).status, 200)
        XCTAssertEqual(try fields(key), ["_exp", "_gen", "b:e"])

        XCTAssertEqual(try call("PATCH", path, body: #"{"bins":{"f":6,"g":7,"e":null,"zz":null}}"#).status, 200)
        XCTAssertEqual(try fields(key), ["_exp", "_gen", "b:f", "b:g"])

        let body =
            #"{"operations":[{"op":"delete_bin","bin":"f"},{"op":"put","bin":"h","value":1},{"op":"put","bin":"i","value":2}]}"#
        XCTAssertEqual(try call("POST", path + "/operate", body: body).status, 200)
        XCTAssertEqual(try fields(key), ["_exp", "_gen", "b:g", "b:h", "b:i"])
        // A replace after all that still finds the stale bins.
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"g":1,"h":1,"x":1}}"#).status, 200)
        XCTAssertEqual(try fields(key), ["_exp", "_gen", "b:g", "b:h", "b:x"])
        XCTAssertEqual(
            try call("GET", path).bodyText, #"{"bins":{"g":1,"h":1,"x":1},"generation":6,"ttl":-1}"#)
    }

    func testARecordInTheOldLayoutReadsWithItsTTLAndMovesOnItsNextWrite() throws {
        let path = "/v1/kv/test/s/old"
        let key = "sg:{test/s/old}"
        try redis.cli(["HSET", key, "_gen", "3", "b:a", "1", "b:b", "\"x\"", "b:c", "true"])
        try redis.cli(["EXPIRE", key, "500"])
        let read = try call("GET", path)
        XCTAssertEqual(read.status, 200)
        XCTAssertTrue(
            read.bodyText.hasPrefix(#"{"bins":{"a":1,"b":"x","c":true},"generation":3,"ttl":"#), read.bodyText)
        XCTAssertTrue((495...500).contains(read.json?["ttl"] as? Int ?? 0), read.bodyText)
        let some = try call("GET", path + "?bins=b,zz")
        XCTAssertTrue(some.bodyText.hasPrefix(#"{"bins":{"b":"x"},"generation":3,"ttl":"#), some.bodyText)
        XCTAssertTrue((495...500).contains(some.json?["ttl"] as? Int ?? 0), some.bodyText)

        // A write that keeps the TTL takes it from the key and writes it down; stale bins go.
        let pttlBefore = Int(try redis.cli(["PTTL", key])) ?? 0
        let replaced = try call("PUT", path, body: #"{"bins":{"a":2,"d":4,"e":5}}"#)
        XCTAssertEqual(replaced.status, 200)
        XCTAssertTrue((495...500).contains(replaced.json?["ttl"] as? Int ?? 0), replaced.bodyText)
        XCTAssertEqual(try fields(key), ["_exp", "_gen", "b:a", "b:d", "b:e"])
        try assertExpiryAgrees(key, expectingTTL: true)
        XCTAssertLessThanOrEqual(Int(try redis.cli(["PTTL", key])) ?? .max, pttlBefore, "the expiry is kept")
        let after = try call("GET", path)
        XCTAssertTrue(after.bodyText.hasPrefix(#"{"bins":{"a":2,"d":4,"e":5},"generation":4,"ttl":"#), after.bodyText)

        // Without a TTL: the read says -1, a PATCH writes `_exp` 0.
        try redis.cli(["HSET", "sg:{test/s/old2}", "_gen", "1", "b:a", "1", "b:b", "2"])
        XCTAssertEqual(
            try call("GET", "/v1/kv/test/s/old2").bodyText, #"{"bins":{"a":1,"b":2},"generation":1,"ttl":-1}"#)
        XCTAssertEqual(try call("PATCH", "/v1/kv/test/s/old2", body: #"{"bins":{"c":3}}"#).status, 200)
        try assertExpiryAgrees("sg:{test/s/old2}", expectingTTL: false)
        // And one with a TTL that a PUT clears.
        try redis.cli(["HSET", "sg:{test/s/old3}", "_gen", "1", "b:a", "1"])
        try redis.cli(["EXPIRE", "sg:{test/s/old3}", "100"])
        XCTAssertEqual(
            try call("PUT", "/v1/kv/test/s/old3?ttl=-1", body: #"{"bins":{"a":2}}"#).json?["ttl"] as? Int, -1)
        try assertExpiryAgrees("sg:{test/s/old3}", expectingTTL: false)
    }

    func testAWriteThatKeepsTheTTLCallsRedisThreeTimes() throws {
        let path = "/v1/kv/test/s/cheap"
        XCTAssertEqual(try call("PUT", path + "?ttl=1000", body: #"{"bins":{"a":1,"b":2,"c":3}}"#).status, 201)
        let names = ["hmget", "hset", "hlen", "hkeys", "hdel", "ttl", "pttl", "time", "pexpireat", "persist", "expire"]
        let before = try names.map(redis.commandCalls)
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"a":4,"b":5,"c":6}}"#).status, 200)
        let after = try names.map(redis.commandCalls)
        let spent = names.indices.filter { after[$0] != before[$0] }.map { names[$0] }
        XCTAssertEqual(spent, ["hmget", "hset", "hlen"], "a replace with the same bins and the TTL kept")
        XCTAssertEqual(try call("GET", path).json?["generation"] as? Int, 2)
    }
}
