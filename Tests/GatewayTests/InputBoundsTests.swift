import Foundation
import TestSupport
import XCTest

/// Every size a client controls is bounded, each with a clear 4xx and its error code,
/// and nothing refused reaches redis; a record cannot be grown past its byte limit by
/// repeated PATCH or operate appends.
final class InputBoundsTests: GatewayOverRedisTestCase {
    override var gatewayArguments: [String] { ["--max-body-bytes", "2000000", "--access-log", "off"] }

    func testEachClientControlledSizeHasAClearRefusal() throws {
        let bins257 = (0..<257).map { "\"b\($0)\":1" }.joined(separator: ",")
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let batchTooLarge = (0..<5001).map { _ in #"{"op":"get","namespace":"n","set":"s","key":"k"}"# }.joined(
            separator: ",")
        let ops65 = (0..<65).map { _ in #"{"op":"get"}"# }.joined(separator: ",")
        let cases: [(String, String, String?, Int, String)] = [
            ("GET", "/v1/kv/n/s/" + String(repeating: "k", count: 1025), nil, 400, "invalid_key"),
            ("GET", "/v1/kv/n/s/" + String(repeating: "%C3%A9", count: 257), nil, 400, "invalid_key"),
            ("GET", "/v1/kv/" + String(repeating: "n", count: 64) + "/s/k", nil, 400, "invalid_namespace"),
            ("GET", "/v1/kv/n/" + String(repeating: "s", count: 64) + "/k", nil, 400, "invalid_set"),
            ("PUT", "/v1/kv/n/s/k", #"{"bins":{"\#(String(repeating: "b", count: 65))":1}}"#, 400, "invalid_bin"),
            ("GET", "/v1/kv/n/s/k?bins=" + (0..<257).map { "b\($0)" }.joined(separator: ","), nil, 400, "invalid_bin"),
            ("PUT", "/v1/kv/n/s/k", #"{"bins":{\#(bins257)}}"#, 413, "too_many_bins"),
            ("PUT", "/v1/kv/n/s/k", #"{"bins":{"a":\#(deep)}}"#, 400, "invalid_json"),
            (
                "PUT", "/v1/kv/n/s/k", #"{"bins":{"a":"\#(String(repeating: "x", count: 1_048_600))"}}"#, 413,
                "body_too_large"
            ),
            ("POST", "/v1/batch", #"{"operations":[\#(batchTooLarge)]}"#, 413, "batch_too_large"),
            ("POST", "/v1/kv/n/s/k/operate", #"{"operations":[\#(ops65)]}"#, 413, "too_many_operations"),
            ("GET", "/v1/scan/n/s?count=1001", nil, 400, "invalid_count"),
            ("GET", "/v1/scan/n/s?cursor=" + String(repeating: "1", count: 21), nil, 400, "invalid_cursor"),
            ("GET", "/v1/kv/n/s/k?timeout_ms=60001", nil, 400, "invalid_timeout"),
            ("PUT", "/v1/kv/n/s/k?ttl=999999999999", #"{"bins":{}}"#, 400, "invalid_ttl"),
        ]
        for (method, path, body, status, code) in cases {
            let response = try call(method, path, body: body)
            XCTAssertEqual(response.status, status, "\(method) \(path.prefix(60)): \(response.description.prefix(300))")
            XCTAssertEqual(response.errorCode, code, "\(method) \(path.prefix(60))")
        }
        let big = try call(
            "PUT", "/v1/kv/n/s/k", body: #"{"bins":{"a":"\#(String(repeating: "x", count: 2_000_000))"}}"#)
        XCTAssertEqual(big.status, 413, "past --max-body-bytes")
        XCTAssertEqual(try redis.cli(["DBSIZE"]), "0", "nothing refused was stored")
    }

    func testARecordCannotGrowPastItsByteLimit() throws {
        let chunk = String(repeating: "y", count: 300_000)
        XCTAssertEqual(try call("PUT", "/v1/kv/n/s/grow", body: #"{"bins":{"s":"","l":[]}}"#).status, 201)
        var appended = 0
        while appended < 10 {
            let response = try call(
                "POST", "/v1/kv/n/s/grow/operate",
                body: #"{"operations":[{"op":"append","bin":"s","value":"\#(chunk)"}]}"#)
            if response.status != 200 {
                XCTAssertEqual(response.status, 413)
                XCTAssertEqual(response.errorCode, "record_too_large")
                break
            }
            appended += 1
        }
        XCTAssertEqual(appended, 3, "three 300 kB appends fit in 1 MiB, the fourth does not")
        let length = try redis.storedBin("sg:{n/s/grow}", "s").utf8.count
        XCTAssertEqual(length, 3 * 300_000 + 2, "the refused append left the bin as it was")
        XCTAssertEqual(try redis.cli(["HGET", "sg:{n/s/grow}", "_gen"]), "4")

        let listAppend = try call(
            "POST", "/v1/kv/n/s/grow/operate",
            body: #"{"operations":[{"op":"list_append","bin":"l","value":"\#(chunk)"}]}"#)
        XCTAssertEqual(listAppend.errorCode, "record_too_large")
        let patch = try call("PATCH", "/v1/kv/n/s/grow", body: #"{"bins":{"t":"\#(chunk)"}}"#)
        XCTAssertEqual(patch.status, 413)
        XCTAssertEqual(patch.errorCode, "record_too_large")
        XCTAssertFalse(try redis.storedBinNames("sg:{n/s/grow}").contains("t"))
        XCTAssertEqual(
            try call("PATCH", "/v1/kv/n/s/grow", body: #"{"bins":{"s":null,"t":"\#(chunk)"}}"#).status, 200,
            "room once s is removed")
        XCTAssertEqual(try redis.cli(["HGET", "sg:{n/s/grow}", "_gen"]), "5")
    }
}
