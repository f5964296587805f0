import Foundation
import Gateway
import HTTP
import TestSupport
import XCTest

/// `RequestValidation` (what the fuzz targets drive) repeats the record routes' checks;
/// here the real gateway, over real HTTP with a real redis-server, must refuse exactly
/// what it refuses, with the same status and code, and accept what it accepts.
final class RequestValidationTests: XCTestCase {
    private static let json = [("Content-Type", "application/json")]
    private static let cases: [(method: String, target: String, headers: [(String, String)], body: String)] = [
        ("GET", "/v1/kv/test/users/alice", [], ""),
        ("GET", "/v1/kv/test/users/alice?bins=a,b.c&timeout_ms=500", [], ""),
        ("GET", "/v1/kv/bad.ns/s/k", [], ""),
        ("GET", "/v1/kv/n/s%24/k", [], ""),
        ("GET", "/v1/kv/n/s/a%01b", [], ""),
        ("GET", "/v1/kv/n/s/a%ZZ", [], ""),
        ("GET", "/v1/kv/n/s/k?bins=a,b$", [], ""),
        ("GET", "/v1/kv/n/s/k?nope=1", [], ""),
        ("GET", "/v1/kv/n/s/k?a=%zz", [], ""),
        ("GET", "/v1/kv/n/s/k?timeout_ms=1&timeout_ms=2", [], ""),
        ("GET", "/v1/kv/n/s/k?timeout_ms=99", [], ""),
        ("PUT", "/v1/kv/n/s/k?ttl=-5", json, #"{"bins":{}}"#),
        ("PUT", "/v1/kv/n/s/k?ttl=60", json, #"{"bins":{"a":1,"b":null}}"#),
        ("PUT", "/v1/kv/n/s/k", json, #"{"bins":{"a":1,}}"#),
        ("PUT", "/v1/kv/n/s/k", json, #"[1]"#),
        ("PUT", "/v1/kv/n/s/k", json, #"{"bins":{"a":1},"x":2}"#),
        ("PUT", "/v1/kv/n/s/k", json, #"{"bins":{"bad name":1}}"#),
        ("PUT", "/v1/kv/n/s/k", json + [("If-Match", "abc")], #"{"bins":{"a":1}}"#),
        ("PUT", "/v1/kv/n/s/k", [("Content-Type", "text/plain")], #"{"bins":{"a":1}}"#),
        ("POST", "/v1/kv/n/s/k2", json + [("If-Match", "\"3\"")], #"{"bins":{"a":1}}"#),
        ("POST", "/v1/kv/n/s/k3", json, #"{"bins":{"a":1}}"#),
        ("PATCH", "/v1/kv/n/s/k", json + [("If-Match", "\"1\"")], #"{"bins":{"a":null}}"#),
        ("PATCH", "/v1/kv/n/s/k?bins=a", json, #"{"bins":{"a":2}}"#),
        ("DELETE", "/v1/kv/n/s/k?ttl=5", [], ""),
        ("DELETE", "/v1/kv/n/s/gone", [("If-Match", "*")], ""),
        ("POST", "/v1/kv/n/s/k/operate", json, #"{"operations":[{"op":"incr","bin":"c","value":1},{"op":"get"}]}"#),
        ("POST", "/v1/kv/n/s/k/operate", json, #"{"operations":[]}"#),
        ("POST", "/v1/kv/n/s/k/operate", json, #"{"operations":[{"op":"incr","bin":"c","value":1.5}]}"#),
        ("POST", "/v1/kv/n/s/k/operate", json, #"{"operations":[{"op":"touch","bin":"c"}]}"#),
        ("PUT", "/v1/kv/n/s/k/operate", json, #"{"operations":[{"op":"get"}]}"#),
        ("GET", "/v1/kv/n/s", [], ""),
    ]

    func testTheGatewayRefusesExactlyWhatRequestValidationRefuses() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: ["--store", redis.url])
        var refused = 0
        for (method, target, headers, body) in Self.cases {
            var allHeaders = [("Host", "t")] + headers
            if !body.isEmpty { allHeaders.append(("Content-Length", String(body.utf8.count))) }
            let request = HTTPRequest(
                method: method, target: target, headers: HTTPHeaders(allHeaders), body: Array(body.utf8))
            var raw = "\(method) \(target) HTTP/1.1\r\n"
            for (name, value) in allHeaders { raw += "\(name): \(value)\r\n" }
            let response = try gateway.request(raw + "\r\n" + body)
            let label = "\(method) \(target) \(body)"
            switch RequestValidation.validate(request) {
            case .failure(let error):
                refused += 1
                XCTAssertEqual(response.status, error.status, label)
                XCTAssertEqual(response.errorCode, error.code, label)
            case .success:
                XCTAssertTrue(
                    response.status < 300 || [404, 412].contains(response.status),
                    "\(label) → \(response.status) \(response.bodyText)")
                XCTAssertNotEqual(response.errorCode, "not_found", label)
            }
        }
        XCTAssertGreaterThan(refused, 15)
        XCTAssertLessThan(refused, Self.cases.count - 5)
        XCTAssertEqual(gateway.stop(), 0, gateway.log)
    }
}
