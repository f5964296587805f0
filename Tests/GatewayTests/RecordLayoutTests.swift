import Foundation
import TestSupport
import XCTest

@testable import Gateway

/// The record hash as redis holds it: `_gen`, `_exp` and the bins in `_b`. `_exp` is the
/// key's own expiry after every write that keeps, sets or clears the TTL; replace, patch
/// and operate leave no stale bin; a record written before `_b` (bins as `b:` fields,
/// with or without `_exp`) still reads with its TTL and moves to `_b` on its next write,
/// whichever write that is; an unconditional replace runs no script.
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

    private func assertStored(_ key: String, bins: [String], line: UInt = #line) throws {
        XCTAssertEqual(try fields(key), ["_b", "_exp", "_gen"], line: line)
        XCTAssertEqual(try redis.storedBinNames(key), bins, line: line)
    }

    func testReplacePatchAndOperateLeaveNoStaleBin() throws {
        let path = "/v1/kv/test/s/count"
        let key = "sg:{test/s/count}"
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"a":1,"b":2,"c":3}}"#).status, 201)
        // As many bins as before, one of them new: the stale one still goes.
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"a":1,"b":2,"d":4}}"#).status, 200)
        try assertStored(key, bins: ["a", "b", "d"])
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"e":5}}"#).status, 200)
        try assertStored(key, bins: ["e"])

        XCTAssertEqual(try call("PATCH", path, body: #"{"bins":{"f":6,"g":7,"e":null,"zz":null}}"#).status, 200)
        try assertStored(key, bins: ["f", "g"])

        let body =
            #"{"operations":[{"op":"delete_bin","bin":"f"},{"op":"put","bin":"h","value":1},{"op":"put","bin":"i","value":2}]}"#
        XCTAssertEqual(try call("POST", path + "/operate", body: body).status, 200)
        try assertStored(key, bins: ["g", "h", "i"])
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"g":1,"h":1,"x":1}}"#).status, 200)
        try assertStored(key, bins: ["g", "h", "x"])
        XCTAssertEqual(
            try call("GET", path).bodyText, #"{"bins":{"g":1,"h":1,"x":1},"generation":6,"ttl":-1}"#)
        // No bins at all is an empty `_b`, and still a record.
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{}}"#).status, 200)
        try assertStored(key, bins: [])
        XCTAssertEqual(try call("GET", path).bodyText, #"{"bins":{},"generation":7,"ttl":-1}"#)
    }

    /// Bins written before `_b` and `_exp` are kept through each kind of write: the
    /// record's first write moves them into `_b` and drops the `b:` fields.
    func testEveryWriteMovesARecordInBinFieldsToTheBinsField() throws {
        let writes: [(String, String, String, String)] = [
            ("PUT", "", #"{"bins":{"a":2}}"#, #"{"a":2}"#),
            ("PUT", "?ttl=100", #"{"bins":{"a":2}}"#, #"{"a":2}"#),
            ("PATCH", "", #"{"bins":{"c":3}}"#, #"{"a":1,"b":"x","c":3}"#),
            ("POST", "/operate", #"{"operations":[{"op":"incr","bin":"a","value":1}]}"#, #"{"a":2,"b":"x"}"#),
        ]
        for (index, (method, suffix, body, bins)) in writes.enumerated() {
            for withExpiryField in [false, true] {
                let name = "moved\(index)\(withExpiryField)"
                let key = "sg:{test/s/\(name)}"
                try redis.cli(["HSET", key, "_gen", "3", "b:a", "1", "b:b", "\"x\""])
                if withExpiryField { try redis.cli(["HSET", key, "_exp", "0"]) }
                let wrote = try call(method, "/v1/kv/test/s/\(name)\(suffix)", body: body)
                XCTAssertEqual(wrote.status, 200, "\(method)\(suffix): \(wrote.bodyText)")
                XCTAssertEqual(try fields(key), ["_b", "_exp", "_gen"], "\(method)\(suffix)")
                let read = try call("GET", "/v1/kv/test/s/\(name)")
                XCTAssertTrue(read.bodyText.hasPrefix(#"{"bins":\#(bins),"generation":4,"#), read.bodyText)
            }
        }
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

        // A replace that keeps the TTL (a transaction, then `convert`) takes it from the key
        // and writes it down; the `b:` fields go.
        let pttlBefore = Int(try redis.cli(["PTTL", key])) ?? 0
        let replaced = try call("PUT", path, body: #"{"bins":{"a":2,"d":4,"e":5}}"#)
        XCTAssertEqual(replaced.status, 200)
        XCTAssertTrue((495...500).contains(replaced.json?["ttl"] as? Int ?? 0), replaced.bodyText)
        XCTAssertEqual(try fields(key), ["_b", "_exp", "_gen"], "the bins moved into `_b`")
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

    /// What a replace transaction can leave behind when `convert` does not follow it (the
    /// gateway stopped, the store refused it): `_exp` 0 on a record whose key expires.
    /// The next scripted write takes the expiry from the key again.
    func testAScriptedWriteRepairsAnExpiryFieldLeftAtZero() throws {
        let key = "sg:{test/s/zero}"
        try redis.cli(["HSET", key, "_gen", "2", "_exp", "0", "_b", StoredBins.encode([("a", "1")])])
        try redis.cli(["EXPIRE", key, "300"])
        let patched = try call("PATCH", "/v1/kv/test/s/zero", body: #"{"bins":{"b":2}}"#)
        XCTAssertTrue((295...300).contains(patched.json?["ttl"] as? Int ?? 0), patched.bodyText)
        try assertExpiryAgrees(key, expectingTTL: true)
        XCTAssertTrue((295...300).contains(try call("GET", "/v1/kv/test/s/zero").json?["ttl"] as? Int ?? 0))
    }

    /// `convert` drops `b:` fields only while `_b` is there: if a gateway from before `_b`
    /// wrote the record after the transaction (and so removed `_b`), its bins stay.
    func testConvertKeepsBinFieldsWhenTheBinsFieldIsGone() throws {
        let key = "sg:{test/s/conv}"
        try redis.cli(["HSET", key, "_gen", "5", "_exp", "0", "b:a", "1"])
        let reply = try redis.cli(["EVAL", RecordScripts.convert.source, "1", key, ""])
        XCTAssertEqual(reply.split(separator: "\n"), ["0", "5", "0"])
        XCTAssertEqual(try fields(key), ["_exp", "_gen", "b:a"])
        XCTAssertEqual(try call("GET", "/v1/kv/test/s/conv").bodyText, #"{"bins":{"a":1},"generation":5,"ttl":-1}"#)
        try redis.cli(["HSET", key, "_b", StoredBins.encode([("z", "2")])])
        _ = try redis.cli(["EVAL", RecordScripts.convert.source, "1", key, ""])
        XCTAssertEqual(try fields(key), ["_b", "_exp", "_gen"])
    }

    /// A `_gen` that is not an integer (written behind the gateway's back) fails its
    /// HINCRBY while the HSET of the same transaction still runs: the answer says so.
    func testAReplaceOverACorruptGenerationSaysItMayBePartlyWritten() throws {
        try redis.cli(["HSET", "sg:{test/s/bad}", "_gen", "x", "_exp", "0", "_b", ""])
        let replaced = try call("PUT", "/v1/kv/test/s/bad", body: #"{"bins":{"a":1}}"#)
        XCTAssertEqual(replaced.status, 502, replaced.bodyText)
        XCTAssertTrue(replaced.bodyText.contains("partly written"), replaced.bodyText)
        try redis.cli(["SET", "sg:{test/s/string}", "x"])
        let wrongType = try call("PUT", "/v1/kv/test/s/string", body: #"{"bins":{"a":1}}"#)
        XCTAssertEqual(wrongType.status, 502, wrongType.bodyText)
        XCTAssertTrue(wrongType.bodyText.contains("WRONGTYPE"), wrongType.bodyText)
        XCTAssertFalse(wrongType.bodyText.contains("partly"), wrongType.bodyText)
        XCTAssertEqual(try redis.cli(["GET", "sg:{test/s/string}"]), "x")
    }

    func testAnUnconditionalReplaceRunsNoScript() throws {
        let path = "/v1/kv/test/s/cheap"
        XCTAssertEqual(try call("PUT", path + "?ttl=1000", body: #"{"bins":{"a":1,"b":2,"c":3}}"#).status, 201)
        let names = [
            "evalsha", "eval", "multi", "exec", "hincrby", "hmget", "hset", "hlen", "hkeys", "hdel", "ttl", "pttl",
            "time", "pexpireat", "persist", "expire",
        ]
        func spent(_ write: () throws -> Void) throws -> [String] {
            let before = try names.map(redis.commandCalls)
            try write()
            let after = try names.map(redis.commandCalls)
            return names.indices.filter { after[$0] != before[$0] }.map { names[$0] }
        }
        XCTAssertEqual(
            try spent { XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"a":4,"d":5}}"#).status, 200) },
            ["multi", "exec", "hincrby", "hset"], "a replace with the TTL kept")
        // A conditional replace is a script: HMGET `_gen _exp`, then HSET.
        XCTAssertEqual(
            try spent {
                XCTAssertEqual(
                    try call("PUT", path, body: #"{"bins":{"a":6}}"#, headers: ["If-Match": "\"2\""]).status, 200)
            }, ["evalsha", "hmget", "hset"], "a conditional replace")
        let read = try call("GET", path)
        XCTAssertEqual(read.json?["generation"] as? Int, 3)
        XCTAssertTrue((995...1000).contains(read.json?["ttl"] as? Int ?? 0), read.bodyText)
    }
}
