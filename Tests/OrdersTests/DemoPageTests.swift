import Foundation
import TestSupport
import XCTest

/// `GET /demo`: the page compiled into the binary, served only with the pizzeria on,
/// public while the API calls it makes keep their auth and CORS rules. The page's
/// behaviour in a browser is IntegrationTests/demo (scripts/demo-test.sh).
final class DemoPageTests: XCTestCase {
    func testThePageIsTheEmbeddedFileWithAStrictContentSecurityPolicy() throws {
        let pizzeria = try PizzeriaHarness(minuteMs: 5)
        defer { XCTAssertEqual(pizzeria.gateway.stop(), 0) }
        let page = try pizzeria.gateway.get("/demo")
        XCTAssertEqual(page.status, 200, page.description)
        XCTAssertEqual(page.header("Content-Type"), "text/html; charset=utf-8")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Orders/Resources/demo.html")
        XCTAssertEqual(page.body, Array(try Data(contentsOf: source)), "the bytes of Resources/demo.html")
        let policy = try XCTUnwrap(page.header("Content-Security-Policy"))
        for directive in ["default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'"] {
            XCTAssertTrue(policy.contains(directive), policy)
        }
        XCTAssertEqual(page.header("X-Content-Type-Options"), "nosniff")

        let head = try pizzeria.gateway.request("HEAD /demo HTTP/1.1\r\nHost: t\r\n\r\n")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), String(page.body.count))
        XCTAssertTrue(head.body.isEmpty)
        let query = try pizzeria.gateway.get("/demo?key=1")
        XCTAssertEqual(query.status, 400)
        XCTAssertEqual(query.errorCode, "invalid_query")
        XCTAssertEqual(try pizzeria.gateway.request(PizzeriaHarness.post("/demo", "{}")).status, 405)
    }

    func testThePageIsPublicButTheCallsItMakesNeedAKey() throws {
        let redis = try RedisServer()
        let key = "demo-\(UUID().uuidString)"
        let gateway = try GatewayProcess(
            arguments: [
                "--store", redis.url, "--pizzeria", "on", "--minute-ms", "5", "--public-endpoints", "none",
                "--cors-origins", "https://app.example",
            ],
            environment: ["STOREGATE_API_KEYS": "\(key):read,write:pizzeria"])
        defer { XCTAssertEqual(gateway.stop(), 0) }
        let page = try gateway.request("GET /demo HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\n")
        XCTAssertEqual(page.status, 200, "no key needed for the page")
        XCTAssertEqual(page.header("Access-Control-Allow-Origin"), "https://app.example")
        XCTAssertEqual(page.header("Vary"), "Origin")
        for path in ["/v1/menu", "/v1/kitchen"] {
            let refused = try gateway.get(path)
            XCTAssertEqual(refused.status, 401, path)
            XCTAssertEqual(refused.errorCode, "unauthorized", path)
            let allowed = try gateway.request("GET \(path) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(key)\r\n\r\n")
            XCTAssertEqual(allowed.status, 200, "\(path): \(allowed)")
        }
        XCTAssertEqual(try gateway.get("/healthz").status, 401, "only the page became public")
    }

    func testNoPageWithoutThePizzeria() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: ["--store", redis.url])
        defer { XCTAssertEqual(gateway.stop(), 0) }
        let response = try gateway.get("/demo")
        XCTAssertEqual(response.status, 404)
        XCTAssertEqual(response.errorCode, "not_found")
    }
}
