import Foundation
import TestSupport
import XCTest

/// The records API over real HTTP against a real redis-server; the data is checked in
/// redis itself as well as through the API.
final class RecordAPITests: GatewayOverRedisTestCase {
    private func bins(_ response: ParsedResponse) -> [String: Any]? { response.json?["bins"] as? [String: Any] }

    func testCreateReadReplacePatchDeleteWithGenerations() throws {
        let path = "/v1/kv/test/users/alice"
        XCTAssertEqual(try call("GET", path).status, 404)
        XCTAssertEqual(try call("GET", path).errorCode, "record_not_found")

        let created = try call("POST", path, body: #"{"bins":{"name":"Alice","age":30,"tags":["a","b"]}}"#)
        XCTAssertEqual(created.status, 201)
        XCTAssertEqual(created.header("ETag"), "\"1\"")
        XCTAssertEqual(created.json?["generation"] as? Int, 1)
        XCTAssertEqual(created.json?["ttl"] as? Int, -1)
        XCTAssertEqual(
            try redis.storedBin("sg:{test/users/alice}", "name"), "\"Alice\"", "stored in redis as JSON")
        XCTAssertEqual(try redis.cli(["HGET", "sg:{test/users/alice}", "_gen"]), "1")

        let again = try call("POST", path, body: #"{"bins":{"name":"Other"}}"#)
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(again.errorCode, "record_exists")

        let read = try call("GET", path)
        XCTAssertEqual(read.status, 200)
        XCTAssertEqual(bins(read)?["name"] as? String, "Alice")
        XCTAssertEqual(bins(read)?["age"] as? Int, 30)
        XCTAssertEqual(bins(read)?["tags"] as? [String], ["a", "b"])
        XCTAssertEqual(read.header("ETag"), "\"1\"")

        let some = try call("GET", path + "?bins=name,missing")
        XCTAssertEqual(bins(some)?.keys.sorted(), ["name"])

        let stale = try call("PUT", path, body: #"{"bins":{"name":"A2"}}"#, headers: ["If-Match": "\"7\""])
        XCTAssertEqual(stale.status, 412)
        XCTAssertEqual(stale.errorCode, "generation_mismatch")
        XCTAssertEqual(try redis.storedBin("sg:{test/users/alice}", "name"), "\"Alice\"", "unchanged on 412")

        let replaced = try call("PUT", path, body: #"{"bins":{"name":"A2"}}"#, headers: ["If-Match": "\"1\""])
        XCTAssertEqual(replaced.status, 200)
        XCTAssertEqual(replaced.json?["generation"] as? Int, 2)
        XCTAssertFalse(try redis.storedBinNames("sg:{test/users/alice}").contains("age"), "PUT replaces all bins")

        let patched = try call("PATCH", path, body: #"{"bins":{"age":31,"name":null}}"#)
        XCTAssertEqual(patched.status, 200)
        XCTAssertEqual(bins(patched)?["age"] as? Int, 31)
        XCTAssertNil(bins(patched)?["name"], "null removes a bin")
        XCTAssertEqual(patched.json?["generation"] as? Int, 3)

        XCTAssertEqual(try call("DELETE", path, headers: ["If-Match": "\"2\""]).status, 412)
        let keepAlive = try gateway.connect()
        try keepAlive.send(
            "DELETE \(path) HTTP/1.1\r\nHost: t\r\nIf-Match: \"3\"\r\n\r\nGET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
        let deleted = try XCTUnwrap(keepAlive.readResponse())
        XCTAssertEqual(deleted.status, 204)
        XCTAssertNil(deleted.header("Content-Length"))
        XCTAssertNil(deleted.header("Transfer-Encoding"), "204 has no body framing")
        XCTAssertEqual(keepAlive.readResponse()?.status, 404, "the next request on the connection is answered")
        XCTAssertEqual(try redis.cli(["EXISTS", "sg:{test/users/alice}"]), "0")
        XCTAssertEqual(try call("DELETE", path).status, 404)
        XCTAssertEqual(try call("PATCH", path, body: #"{"bins":{"a":1}}"#).status, 404)
    }

    func testHeadPutCreatesAndTTL() throws {
        let path = "/v1/kv/test/s/k1"
        XCTAssertEqual(try call("HEAD", path).status, 404)
        let created = try call("PUT", path + "?ttl=100", body: #"{"bins":{"v":1}}"#)
        XCTAssertEqual(created.status, 201)
        XCTAssertEqual(created.header("Location"), path)
        XCTAssertEqual(try call("HEAD", path).status, 200)
        let ttl = Int(try redis.cli(["TTL", "sg:{test/s/k1}"])) ?? 0
        XCTAssertTrue((95...100).contains(ttl), "ttl \(ttl)")
        XCTAssertTrue(((try call("GET", path)).json?["ttl"] as? Int).map { (95...100).contains($0) } ?? false)
        XCTAssertEqual(try call("PATCH", path, body: #"{"bins":{"w":2}}"#).status, 200)
        XCTAssertGreaterThan(Int(try redis.cli(["TTL", "sg:{test/s/k1}"])) ?? 0, 90, "PATCH without ttl keeps it")
        XCTAssertEqual(try call("PUT", path + "?ttl=-1", body: #"{"bins":{"v":2}}"#).status, 200)
        XCTAssertEqual(try redis.cli(["TTL", "sg:{test/s/k1}"]), "-1")
        XCTAssertEqual(
            try call("PUT", "/v1/kv/test/s/missing", body: #"{"bins":{"v":1}}"#, headers: ["If-Match": "*"]).status, 412
        )
    }

    func testJSONValuesRoundTripExactly() throws {
        let body =
            #"{"bins":{"big":9007199254740993,"neg":-9223372036854775808,"f":0.1,"e":1e-7,"s":"tab\t\"q\" é 😀 \u0000","n":[1,[2,{"x":null}]],"t":true,"o":{"k":"v"}}}"#
        XCTAssertEqual(try call("PUT", "/v1/kv/test/json/k", body: body).status, 201)
        let read = try call("GET", "/v1/kv/test/json/k")
        let text = read.bodyText
        XCTAssertTrue(text.contains(#""big":9007199254740993"#), text)
        XCTAssertTrue(text.contains(#""neg":-9223372036854775808"#), text)
        XCTAssertTrue(text.contains(#""f":0.1"#), text)
        XCTAssertTrue(text.contains(#""e":1e-07"#) || text.contains(#""e":1e-7"#), text)
        XCTAssertEqual(bins(read)?["s"] as? String, "tab\t\"q\" é 😀 \u{0}")
        XCTAssertTrue(text.contains(#""n":[1,[2,{"x":null}]]"#), text)
    }

    func testKeysNeedPercentDecodingAndBracesAreEscaped() throws {
        let path = "/v1/kv/test/s/a%2Fb%7Bc%7D%20d%C3%A9"
        XCTAssertEqual(try call("PUT", path, body: #"{"bins":{"v":1}}"#).status, 201)
        XCTAssertEqual(try redis.cli(["EXISTS", "sg:{test/s/a/b%7Bc%7D dé}"]), "1")
        XCTAssertEqual(try call("GET", path).status, 200)
    }

    func testValidationErrors() throws {
        XCTAssertEqual(try call("GET", "/v1/kv/bad.ns/s/k").errorCode, "invalid_namespace")
        XCTAssertEqual(try call("GET", "/v1/kv/n/s%24/k").errorCode, "invalid_set")
        XCTAssertEqual(try call("GET", "/v1/kv/n/s/a%01b").errorCode, "invalid_key")
        XCTAssertEqual(try call("GET", "/v1/kv/n/s/" + String(repeating: "k", count: 257)).errorCode, "invalid_key")
        XCTAssertEqual(try call("GET", "/v1/kv/n/s/" + String(repeating: "k", count: 256)).status, 404)
        XCTAssertEqual(try call("GET", "/v1/kv/n/s/k?bins=a,b$").errorCode, "invalid_bin")
        XCTAssertEqual(try call("GET", "/v1/kv/n/s/k?nope=1").errorCode, "invalid_query")
        XCTAssertEqual(try call("GET", "/v1/kv/n/s/k?timeout_ms=99").errorCode, "invalid_timeout")
        XCTAssertEqual(try call("PUT", "/v1/kv/n/s/k?ttl=-5", body: #"{"bins":{}}"#).errorCode, "invalid_ttl")
        XCTAssertEqual(try call("PUT", "/v1/kv/n/s/k", body: #"{"bins":{"a":1,}}"#).errorCode, "invalid_json")
        XCTAssertEqual(try call("PUT", "/v1/kv/n/s/k", body: #"[1]"#).errorCode, "invalid_json")
        XCTAssertEqual(try call("PUT", "/v1/kv/n/s/k", body: #"{"bins":{"a":1},"x":2}"#).errorCode, "invalid_body")
        XCTAssertEqual(try call("PUT", "/v1/kv/n/s/k", body: #"{"bins":{"bad name":1}}"#).errorCode, "invalid_bin")
        XCTAssertEqual(
            try call("PUT", "/v1/kv/n/s/k", body: #"{"bins":{"a":1}}"#, headers: ["If-Match": "abc"]).errorCode,
            "invalid_if_match")
        let wrongType = try call("PUT", "/v1/kv/n/s/k", body: #"{"bins":{"a":1}}"#, contentType: "text/plain")
        XCTAssertEqual(wrongType.status, 415)
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        XCTAssertEqual(try call("PUT", "/v1/kv/n/s/k", body: #"{"bins":{"a":\#(deep)}}"#).errorCode, "invalid_json")
        let many = (0..<257).map { "\"b\($0)\":1" }.joined(separator: ",")
        XCTAssertEqual(try call("PUT", "/v1/kv/n/s/k", body: "{\"bins\":{\(many)}}").status, 413)
        XCTAssertEqual(try redis.cli(["DBSIZE"]), "0", "nothing was written by a refused request")
        let nullBin = try call("PUT", "/v1/kv/n/s/nulls", body: #"{"bins":{"a":null,"b":1}}"#)
        XCTAssertEqual(nullBin.status, 201)
        XCTAssertEqual((nullBin.json?["bins"] as? [String: Any])?.keys.sorted(), ["b"], "a null bin is no bin")
    }

    func testOperateAppliesEverythingOrNothing() throws {
        let path = "/v1/kv/test/s/op"
        let body =
            #"{"operations":[{"op":"incr","bin":"visits","value":1},{"op":"set_add","bin":"friends","value":"jd"},{"op":"set_add","bin":"friends","value":"jd"},{"op":"list_append","bin":"log","value":{"a":"x,y]"}},{"op":"append","bin":"name","value":"Al"},{"op":"append","bin":"name","value":"ice"},{"op":"get"}]}"#
        let first = try call("POST", path + "/operate", body: body)
        XCTAssertEqual(first.status, 200, first.bodyText)
        let results = try XCTUnwrap(first.json?["results"] as? [Any])
        XCTAssertEqual(results.count, 7)
        XCTAssertEqual(results[0] as? Int, 1)
        XCTAssertEqual(results[2] as? [String], ["jd"], "a set-valued bin has no duplicates")
        XCTAssertEqual(results[5] as? String, "Alice")
        let all = try XCTUnwrap(results[6] as? [String: Any])
        XCTAssertEqual(all["visits"] as? Int, 1)
        XCTAssertEqual((all["log"] as? [[String: String]])?.first?["a"], "x,y]")
        XCTAssertEqual(first.json?["generation"] as? Int, 1)

        let second = try call(
            "POST", path + "/operate",
            body:
                #"{"operations":[{"op":"incr","bin":"visits","value":41},{"op":"set_add","bin":"friends","value":"mk"},{"op":"set_remove","bin":"friends","value":"jd"}]}"#
        )
        let secondResults = try XCTUnwrap(second.json?["results"] as? [Any])
        XCTAssertEqual(secondResults[0] as? Int, 42)
        XCTAssertEqual(secondResults[2] as? [String], ["mk"])
        XCTAssertEqual(try redis.storedBin("sg:{test/s/op}", "visits"), "42")

        // A failing step leaves the record untouched.
        let failing = try call(
            "POST", path + "/operate",
            body: #"{"operations":[{"op":"incr","bin":"visits","value":1},{"op":"incr","bin":"name","value":1}]}"#)
        XCTAssertEqual(failing.status, 409)
        XCTAssertEqual(failing.errorCode, "bin_type_mismatch")
        XCTAssertEqual(try redis.storedBin("sg:{test/s/op}", "visits"), "42", "all or nothing")
        XCTAssertEqual(try redis.cli(["HGET", "sg:{test/s/op}", "_gen"]), "2")

        XCTAssertEqual(
            try call("POST", "/v1/kv/test/s/none/operate", body: #"{"operations":[{"op":"get","bin":"a"}]}"#).status,
            404)
        XCTAssertEqual(
            try call("POST", path + "/operate", body: #"{"operations":[{"op":"fly"}]}"#).errorCode, "invalid_operation")
    }

    func testBatchOrderedAndStreamed() throws {
        try call("PUT", "/v1/kv/test/b/k0", body: #"{"bins":{"v":0}}"#)
        let items = (0..<50).map { index -> String in
            switch index % 4 {
            case 0: return #"{"op":"get","namespace":"test","set":"b","key":"k\#(index / 4 * 4)"}"#
            case 1: return #"{"op":"put","namespace":"test","set":"b","key":"p\#(index)","bins":{"i":\#(index)}}"#
            case 2: return #"{"op":"get","namespace":"test","set":"b","key":"missing\#(index)"}"#
            default: return #"{"op":"delete","namespace":"test","set":"b","key":"p\#(index - 2)"}"#
            }
        }
        let body = #"{"operations":[\#(items.joined(separator: ","))]}"#
        let ordered = try call("POST", "/v1/batch", body: body)
        XCTAssertEqual(ordered.status, 200)
        let results = try XCTUnwrap(ordered.json?["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 50)
        for (index, result) in results.enumerated() {
            XCTAssertEqual(result["index"] as? Int, index)
            let expected = [index == 0 ? 200 : 404, 201 == 0 ? 0 : 200, 404, 204][index % 4]
            if index % 4 != 0 { XCTAssertEqual(result["status"] as? Int, expected, "item \(index)") }
        }
        XCTAssertEqual(try redis.storedBin("sg:{test/b/p49}", "i"), "49")

        let streamed = try call("POST", "/v1/batch", body: body, headers: ["Accept": "application/x-ndjson"])
        XCTAssertTrue(streamed.chunked)
        let lines = streamed.bodyText.split(separator: "\n")
        XCTAssertEqual(lines.count, 50)
        let indexes = lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["index"] as? Int
        }
        XCTAssertEqual(Set(indexes), Set(0..<50))

        let tooMany = (0..<5001).map { _ in #"{"op":"get","namespace":"a","set":"b","key":"c"}"# }.joined(
            separator: ",")
        XCTAssertEqual(try call("POST", "/v1/batch", body: #"{"operations":[\#(tooMany)]}"#).status, 413)
    }

    func testScanPagesThroughASet() throws {
        for index in 0..<120 { try call("PUT", "/v1/kv/test/scan/k\(index)", body: #"{"bins":{"i":\#(index)}}"#) }
        try call("PUT", "/v1/kv/test/other/x", body: #"{"bins":{"i":-1}}"#)
        var seen = Set<String>()
        var cursor: String? = "0"
        var pages = 0
        while let current = cursor, pages < 100 {
            let page = try call("GET", "/v1/scan/test/scan?count=25&cursor=\(current)")
            XCTAssertEqual(page.status, 200)
            for record in page.json?["records"] as? [[String: Any]] ?? [] {
                seen.insert(record["key"] as? String ?? "")
                XCTAssertNotNil(record["generation"])
            }
            cursor = page.json?["cursor"] as? String
            pages += 1
        }
        XCTAssertEqual(seen, Set((0..<120).map { "k\($0)" }))
    }

    func testAStoreErrorIs502AndLeavesTheDataAlone() throws {
        // Someone else put a plain string where a record hash should be.
        try redis.cli(["SET", "sg:{test/s/clash}", "not a hash"])
        let read = try call("GET", "/v1/kv/test/s/clash")
        XCTAssertEqual(read.status, 502)
        XCTAssertEqual(read.errorCode, "store_error")
        XCTAssertTrue(
            (read.json?["error"] as? [String: Any])?["message"].map { "\($0)".contains("WRONGTYPE") } ?? false)
        XCTAssertEqual(try call("PUT", "/v1/kv/test/s/clash", body: #"{"bins":{"v":1}}"#).status, 502)
        XCTAssertEqual(try redis.cli(["GET", "sg:{test/s/clash}"]), "not a hash")
        XCTAssertEqual(try call("GET", "/healthz").status, 200)
    }

    func testReadinessAndClusterView() throws {
        XCTAssertEqual(try gateway.get("/readyz").status, 200)
        let cluster = try gateway.get("/v1/cluster")
        let nodes = try XCTUnwrap(cluster.json?["nodes"] as? [[String: Any]])
        XCTAssertEqual(nodes.first?["address"] as? String, "127.0.0.1:\(redis.port)")
        XCTAssertEqual((nodes.first?["connections"] as? [String: Any])?["max"] as? Int, 4)
        redis.stop()
        XCTAssertTrue(eventually { (try? gateway.get("/readyz").status) == 503 })
        XCTAssertEqual(try gateway.get("/v1/kv/a/b/c").status, 503)
        try redis.start()
        XCTAssertTrue(eventually(within: 10) { (try? gateway.get("/readyz").status) == 200 })
    }

    func testStalledStoreGives504WithInDoubtForWrites() throws {
        gateway.stop()
        gateway = try GatewayProcess(arguments: ["--store", redis.url, "--store-timeout-ms", "200"])
        XCTAssertEqual(try call("PUT", "/v1/kv/t/s/k", body: #"{"bins":{"v":1}}"#).status, 201)
        redis.pause()
        defer { redis.resume() }
        let write = try call("PUT", "/v1/kv/t/s/k", body: #"{"bins":{"v":2}}"#)
        XCTAssertEqual(write.status, 504)
        XCTAssertEqual((write.json?["error"] as? [String: Any])?["in_doubt"] as? Bool, true)
        let read = try call("GET", "/v1/kv/t/s/k")
        XCTAssertEqual(read.status, 504)
        XCTAssertNil((read.json?["error"] as? [String: Any])?["in_doubt"])
    }

    func testWrongStorePasswordStopsTheGatewayWithAClearMessage() throws {
        gateway.stop()
        gateway = nil
        let secured = try RedisServer(password: "right")
        let process = Process()
        process.executableURL = buildProductsDirectory.appendingPathComponent("storegate")
        process.arguments = [
            "--listen", "127.0.0.1:\(freePort())", "--store", "redis://:wrong@127.0.0.1:\(secured.port)",
        ]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 78)
        XCTAssertTrue(log.contains("authentication failed"), log)
        XCTAssertFalse(log.contains("wrong"), "the password is never logged: \(log)")
    }
}
