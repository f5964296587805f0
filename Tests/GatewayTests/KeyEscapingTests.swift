import Foundation
import TestSupport
import XCTest

@testable import Gateway

/// Found by FuzzRecordKey (Fuzz/corpus/FuzzRecordKey/regression-combining-mark): keys were
/// escaped and matched as Characters, so a `{` followed by a combining mark was not
/// escaped (the Redis Cluster hash tag ended inside the key) and a key starting with a
/// combining mark never came back from SCAN. Real redis-server, real HTTP.
final class KeyEscapingTests: XCTestCase {
    func testCombiningMarksNeitherBreakTheHashTagNorHideKeysFromScan() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: ["--store", redis.url])
        // "{⃬x}" and "⃬k" (U+20EC COMBINING RIGHTWARDS HARPOON WITH BARB DOWNWARDS).
        let keys = ["%7B%E2%83%ACx%7D": "{\u{20EC}x}", "%E2%83%ACk": "\u{20EC}k"]
        for encoded in keys.keys {
            let body = #"{"bins":{"v":1}}"#
            let response = try gateway.request(
                "PUT /v1/kv/test/s/\(encoded) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            XCTAssertEqual(response.status, 201, response.bodyText)
        }
        let stored = try redis.cli(["KEYS", "sg:*"]).split(separator: "\n").map(String.init)
        XCTAssertEqual(Set(stored), ["sg:{test/s/%7B\u{20EC}x%7D}", "sg:{test/s/\u{20EC}k}"])
        for key in stored {
            XCTAssertEqual(key.unicodeScalars.filter { $0 == "{" || $0 == "}" }.count, 2, "one hash tag in \(key)")
        }
        let page = try gateway.get("/v1/scan/test/s?count=100")
        XCTAssertEqual(page.status, 200)
        let scanned = (page.json?["records"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
        XCTAssertEqual(Set(scanned.map { Array($0.unicodeScalars) }), Set(keys.values.map { Array($0.unicodeScalars) }))
        XCTAssertEqual(gateway.stop(), 0, gateway.log)
    }

    /// A read's command is encoded with the key written in place; it must be the bytes
    /// `HGETALL` of `redisKeyBytes` gives, and name the key's range, escaped or not.
    func testReadCommandWritesTheKeyInPlaceAsPlainEncodingWould() throws {
        let head = Array("*2\r\n$7\r\nHGETALL\r\n".utf8)
        let longKey = String(repeating: "k", count: 120)
        let cases = [("test", "users", "k1"), ("n", "s", "{a}%b"), ("ns", "set", "\u{20EC}é"), ("a", "b", longKey)]
        for (namespace, set, user) in cases {
            let key = try RecordKey(namespace: namespace, set: set, key: user)
            let redisKey = key.redisKeyBytes
            let command = key.command(head: head)
            var expected = head
            expected += Array("$\(redisKey.count)\r\n".utf8) + redisKey + Array("\r\n".utf8)
            XCTAssertEqual(command.encoded, expected, user)
            XCTAssertEqual(Array(command.encoded[command.keyBytes]), redisKey, user)
        }
    }
}
