import Foundation
import TestSupport
import XCTest

/// `--cors-origins`: preflights answered without a key, allowed origins echoed on
/// every response (errors too), others never; with CORS off, OPTIONS stays 405.
final class CORSTests: XCTestCase {
    func testPreflightAndResponseHeadersForAllowedAndOtherOrigins() throws {
        let redis = try RedisServer()
        let key = "cors-\(UUID().uuidString)"
        let gateway = try GatewayProcess(
            arguments: ["--store", redis.url, "--cors-origins", "https://app.example, http://localhost:3000"],
            environment: ["STOREGATE_API_KEYS": "\(key):read,write:test"])
        defer { XCTAssertEqual(gateway.stop(), 0) }
        func preflight(_ origin: String, _ path: String = "/v1/kv/test/s/k") throws -> ParsedResponse {
            try gateway.request(
                "OPTIONS \(path) HTTP/1.1\r\nHost: t\r\nOrigin: \(origin)\r\nAccess-Control-Request-Method: PUT\r\n"
                    + "Access-Control-Request-Headers: authorization, content-type\r\n\r\n")
        }
        let allowed = try preflight("http://localhost:3000")
        XCTAssertEqual(allowed.status, 204, allowed.description)
        XCTAssertEqual(allowed.header("Access-Control-Allow-Origin"), "http://localhost:3000")
        XCTAssertEqual(allowed.header("Access-Control-Allow-Methods"), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
        XCTAssertTrue(allowed.header("Access-Control-Allow-Headers")?.contains("Authorization") ?? false)
        XCTAssertTrue(allowed.header("Access-Control-Allow-Headers")?.contains("Content-Type") ?? false)
        XCTAssertEqual(allowed.header("Access-Control-Max-Age"), "600")
        XCTAssertEqual(allowed.header("Vary"), "Origin")
        XCTAssertEqual(
            try preflight("https://app.example", "/v1/batch").header("Access-Control-Allow-Methods"), "POST, OPTIONS")

        let other = try preflight("https://evil.example")
        XCTAssertEqual(other.status, 403)
        XCTAssertEqual(other.errorCode, "cors_origin_not_allowed")
        XCTAssertNil(other.header("Access-Control-Allow-Origin"))
        XCTAssertEqual(try preflight("https://app.example", "/nope").status, 404)
        XCTAssertEqual(
            try gateway.request("OPTIONS /v1/kv/test/s/k HTTP/1.1\r\nHost: t\r\n\r\n").status, 405, "not a preflight")

        let read = try gateway.request(
            "GET /v1/kv/test/s/k HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\nAuthorization: Bearer \(key)\r\n\r\n"
        )
        XCTAssertEqual(read.status, 404)
        XCTAssertEqual(read.header("Access-Control-Allow-Origin"), "https://app.example")
        XCTAssertTrue(read.header("Access-Control-Expose-Headers")?.contains("ETag") ?? false)
        XCTAssertEqual(read.header("Vary"), "Origin")
        let unauthorized = try gateway.request(
            "GET /v1/kv/test/s/k HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\n")
        XCTAssertEqual(unauthorized.status, 401)
        XCTAssertEqual(
            unauthorized.header("Access-Control-Allow-Origin"), "https://app.example", "so the page can read the 401")
        let foreign = try gateway.request("GET /healthz HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\n\r\n")
        XCTAssertEqual(foreign.status, 200)
        XCTAssertNil(foreign.header("Access-Control-Allow-Origin"))
        XCTAssertEqual(foreign.header("Vary"), "Origin")
        let streamed = try gateway.request(
            "POST /v1/batch HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\nAuthorization: Bearer \(key)\r\n"
                + "Accept: application/x-ndjson\r\nContent-Type: application/json\r\nContent-Length: 68\r\n\r\n"
                + #"{"operations":[{"op":"get","namespace":"test","set":"s","key":"k"}]}"#)
        XCTAssertEqual(streamed.status, 200)
        XCTAssertTrue(streamed.chunked)
        XCTAssertEqual(streamed.header("Access-Control-Allow-Origin"), "https://app.example", "streamed responses too")
    }

    func testWithCORSOffOptionsIsStill405AndNoCORSHeadersAppear() throws {
        let gateway = try GatewayProcess()
        defer { XCTAssertEqual(gateway.stop(), 0) }
        let response = try gateway.request(
            "OPTIONS /healthz HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: GET\r\n\r\n"
        )
        XCTAssertEqual(response.status, 405)
        XCTAssertEqual(response.header("Allow"), "GET, HEAD")
        let plain = try gateway.request("GET /healthz HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\n")
        XCTAssertNil(plain.header("Access-Control-Allow-Origin"))
        XCTAssertNil(plain.header("Vary"))
    }
}
