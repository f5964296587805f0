import Foundation
import TestSupport
import XCTest

/// Each kind of caller × each route → the expected status, over real HTTP against a
/// password-protected redis-server; refused requests leave redis exactly as it was
/// (compared in redis itself).
final class AuthScopeMatrixTests: XCTestCase {
    private enum Kind: String, CaseIterable {
        case none, bad, readA, writeA, writeAll, admin
    }

    private var redis: RedisServer!
    private var gateway: GatewayProcess!
    private var keys: [Kind: String] = [:]
    private var keyFile: URL!

    override func setUpWithError() throws {
        redis = try RedisServer(password: "store-pw-\(UUID().uuidString)")
        for kind in Kind.allCases where kind != .none { keys[kind] = "\(kind.rawValue)-\(UUID().uuidString)" }
        keyFile = redis.directory.appendingPathComponent("keys.txt")
        try """
        # test keys
        \(keys[.readA]!):read:nsa
        \(keys[.writeA]!):read,write:nsa

        \(keys[.admin]!):admin:*
        """.write(to: keyFile, atomically: true, encoding: .utf8)
        gateway = try GatewayProcess(
            arguments: ["--store", "redis://127.0.0.1:\(redis.port)", "--api-keys-file", keyFile.path],
            environment: [
                "STOREGATE_STORE_PASSWORD": redis.password!, "STOREGATE_API_KEYS": "\(keys[.writeAll]!):write:*",
            ])
        XCTAssertTrue(eventually { (try? gateway.get("/readyz").status) == 200 }, gateway.log)
    }

    override func tearDown() {
        if let gateway { XCTAssertEqual(gateway.stop(), 0, gateway.log) }
        gateway = nil
        redis = nil
    }

    private func call(_ method: String, _ path: String, body: String? = nil, as kind: Kind) throws -> ParsedResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
        if kind == .bad { head += "Authorization: Bearer not-a-configured-key\r\n" }
        if let key = keys[kind], kind != .bad { head += "Authorization: Bearer \(key)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        return try gateway.request(head + "\r\n" + (body ?? ""))
    }

    /// Every record in redis, with every field, in a stable order.
    private func snapshot() throws -> String {
        try redis.cli([
            "EVAL",
            "local keys = redis.call('KEYS', '*') table.sort(keys) local out = {} "
                + "for _, k in ipairs(keys) do local h = redis.call('HGETALL', k) table.insert(out, k) "
                + "for _, v in ipairs(h) do table.insert(out, v) end end return out",
            "0",
        ])
    }

    private struct Case {
        let method: String
        let path: String
        let body: String?
        /// Status per kind, in `Kind.allCases` order.
        let expected: [Int]
    }

    private func cases(for kind: Kind) -> [Case] {
        let k = kind.rawValue
        let put = #"{"bins":{"v":1}}"#
        let batchGetA = #"{"operations":[{"op":"get","namespace":"nsa","set":"s","key":"seed"}]}"#
        let batchGetAB =
            #"{"operations":[{"op":"get","namespace":"nsa","set":"s","key":"seed"},{"op":"get","namespace":"nsb","set":"s","key":"seed"}]}"#
        let batchPutA = #"{"operations":[{"op":"put","namespace":"nsa","set":"s","key":"b-\#(k)","bins":{"v":1}}]}"#
        let batchPutAB =
            #"{"operations":[{"op":"put","namespace":"nsa","set":"s","key":"ab-\#(k)","bins":{"v":1}},{"op":"delete","namespace":"nsb","set":"s","key":"seed"}]}"#
        let operate = #"{"operations":[{"op":"incr","bin":"n","value":1}]}"#
        //                                                    none bad  readA writeA writeAll admin
        return [
            Case(method: "GET", path: "/healthz", body: nil, expected: [200, 200, 200, 200, 200, 200]),
            Case(method: "GET", path: "/readyz", body: nil, expected: [200, 200, 200, 200, 200, 200]),
            Case(method: "GET", path: "/metrics", body: nil, expected: [401, 401, 200, 200, 200, 200]),
            Case(method: "GET", path: "/openapi.yaml", body: nil, expected: [401, 401, 200, 200, 200, 200]),
            Case(method: "GET", path: "/v1/cluster", body: nil, expected: [401, 401, 403, 403, 403, 200]),
            Case(method: "HEAD", path: "/v1/cluster", body: nil, expected: [401, 401, 403, 403, 403, 200]),
            Case(method: "GET", path: "/v1/kv/nsa/s/seed", body: nil, expected: [401, 401, 200, 200, 200, 403]),
            Case(method: "HEAD", path: "/v1/kv/nsa/s/seed", body: nil, expected: [401, 401, 200, 200, 200, 403]),
            Case(method: "GET", path: "/v1/kv/nsb/s/seed", body: nil, expected: [401, 401, 403, 403, 200, 403]),
            Case(method: "POST", path: "/v1/kv/nsa/s/new-\(k)", body: put, expected: [401, 401, 403, 201, 201, 403]),
            Case(method: "PUT", path: "/v1/kv/nsa/s/put-\(k)", body: put, expected: [401, 401, 403, 201, 201, 403]),
            Case(method: "PUT", path: "/v1/kv/nsb/s/put-\(k)", body: put, expected: [401, 401, 403, 403, 201, 403]),
            Case(method: "PATCH", path: "/v1/kv/nsa/s/seed", body: put, expected: [401, 401, 403, 200, 200, 403]),
            Case(method: "DELETE", path: "/v1/kv/nsa/s/del-\(k)", body: nil, expected: [401, 401, 403, 204, 204, 403]),
            Case(
                method: "POST", path: "/v1/kv/nsa/s/op-\(k)/operate", body: operate,
                expected: [401, 401, 403, 200, 200, 403]),
            Case(method: "GET", path: "/v1/scan/nsa/s", body: nil, expected: [401, 401, 200, 200, 200, 403]),
            Case(method: "GET", path: "/v1/scan/nsb/s", body: nil, expected: [401, 401, 403, 403, 200, 403]),
            Case(method: "POST", path: "/v1/batch", body: batchGetA, expected: [401, 401, 200, 200, 200, 403]),
            Case(method: "POST", path: "/v1/batch", body: batchGetAB, expected: [401, 401, 403, 403, 200, 403]),
            Case(method: "POST", path: "/v1/batch", body: batchPutA, expected: [401, 401, 403, 200, 200, 403]),
            Case(method: "POST", path: "/v1/batch", body: batchPutAB, expected: [401, 401, 403, 403, 200, 403]),
            Case(method: "GET", path: "/nope", body: nil, expected: [404, 404, 404, 404, 404, 404]),
        ]
    }

    func testEveryKindOfCallerOnEveryRoute() throws {
        for ns in ["nsa", "nsb"] {
            XCTAssertEqual(
                try call("PUT", "/v1/kv/\(ns)/s/seed", body: #"{"bins":{"v":0}}"#, as: .writeAll).status, 201)
        }
        for kind in Kind.allCases {
            XCTAssertEqual(
                try call("PUT", "/v1/kv/nsa/s/del-\(kind)", body: #"{"bins":{"v":0}}"#, as: .writeAll).status, 201)
        }
        let index = Dictionary(uniqueKeysWithValues: Kind.allCases.enumerated().map { ($1, $0) })
        let all = Kind.allCases.flatMap { kind in cases(for: kind).map { (kind, $0) } }
        let refused = all.filter { [401, 403].contains($0.1.expected[index[$0.0]!]) }
        let allowed = all.filter { ![401, 403].contains($0.1.expected[index[$0.0]!]) }
        XCTAssertGreaterThan(refused.count, 60)

        // Refusals first: nothing they ask for may reach redis.
        let before = try snapshot()
        XCTAssertTrue(before.contains("sg:{nsb/s/seed}"), before)
        for (kind, item) in refused {
            let response = try call(item.method, item.path, body: item.body, as: kind)
            let expected = item.expected[index[kind]!]
            XCTAssertEqual(
                response.status, expected, "\(kind) \(item.method) \(item.path) \(item.body ?? ""): \(response)")
            if item.method != "HEAD" {
                XCTAssertEqual(
                    response.errorCode,
                    expected == 401 ? (kind == .bad ? "invalid_api_key" : "unauthorized") : "forbidden")
            }
            if expected == 401 { XCTAssertEqual(response.header("WWW-Authenticate")?.hasPrefix("Bearer"), true) }
        }
        XCTAssertEqual(try snapshot(), before, "a refused request changed redis")

        for (kind, item) in allowed {
            let response = try call(item.method, item.path, body: item.body, as: kind)
            XCTAssertEqual(
                response.status, item.expected[index[kind]!],
                "\(kind) \(item.method) \(item.path) \(item.body ?? ""): \(response)")
        }
        XCTAssertEqual(try redis.cli(["EXISTS", "sg:{nsb/s/seed}"]), "0", "writeAll's mixed batch did delete it")
        XCTAssertEqual(try redis.cli(["EXISTS", "sg:{nsa/s/ab-writeA}"]), "0", "writeA's mixed batch ran nothing")
        XCTAssertEqual(try redis.cli(["EXISTS", "sg:{nsa/s/ab-writeAll}"]), "1")
    }

    func testMalformedAuthorizationIsRefused() throws {
        let key = keys[.writeAll]!
        let shapes = [
            "Authorization: Basic \(key)\r\n",
            "Authorization: Bearer\r\n",
            "Authorization: \(key)\r\n",
            "Authorization: Bearer \(key)x\r\n",
            "Authorization: Bearer \(key)\r\nAuthorization: Bearer \(key)\r\n",
        ]
        for shape in shapes {
            let response = try gateway.request("GET /v1/kv/nsa/s/x HTTP/1.1\r\nHost: t\r\n\(shape)\r\n")
            XCTAssertEqual(response.status, 401, shape)
            XCTAssertEqual(response.errorCode, "invalid_api_key", shape)
            XCTAssertEqual(response.header("WWW-Authenticate"), #"Bearer realm="storegate", error="invalid_token""#)
        }
        let lowercase = try gateway.request(
            "GET /v1/kv/nsa/s/x HTTP/1.1\r\nHost: t\r\nAuthorization: bearer \(key)\r\n\r\n")
        XCTAssertEqual(lowercase.status, 404, "the scheme name is case-insensitive")
    }
}
