import HTTP
import XCTest

@testable import Gateway

/// The route table matched on path bytes: templates, parameters (percent-decoded),
/// 404, 405 with Allow, and HEAD through GET.
final class RouterTests: XCTestCase {
    private func router() -> Router {
        var router = Router()
        router.add("GET", "/healthz") { _ in }
        router.add("GET", "/v1/kv/{ns}/{set}/{key}") { _ in }
        router.add("PUT", "/v1/kv/{ns}/{set}/{key}") { _ in }
        router.add("POST", "/v1/kv/{ns}/{set}/{key}/operate") { _ in }
        router.add("GET", "/v1/orders/{id}/events") { _ in }
        return router
    }

    private func describe(_ match: Router.Match) -> String {
        switch match {
        case .found(let template, let parameters, _):
            let names = ["ns", "set", "key", "id"].filter { parameters[$0] != nil }
            return template + " " + names.map { "\($0)=\(parameters[$0]!)" }.joined(separator: ",")
        case .methodNotAllowed(let allow): return "405 " + allow.joined(separator: ",")
        case .notFound: return "404"
        }
    }

    func testTemplatesBindDecodedParametersAndRefuseOtherShapes() {
        let router = router()
        let cases: [(String, String, String)] = [
            ("GET", "/healthz", "/healthz "),
            ("HEAD", "/healthz", "/healthz "),
            ("GET", "/v1/kv/test/users/k1", "/v1/kv/{ns}/{set}/{key} ns=test,set=users,key=k1"),
            ("PUT", "/v1/kv/a/b/caf%C3%A9%2Fx", "/v1/kv/{ns}/{set}/{key} ns=a,set=b,key=caf\u{e9}/x"),
            ("POST", "/v1/kv/a/b/c/operate", "/v1/kv/{ns}/{set}/{key}/operate ns=a,set=b,key=c"),
            ("GET", "/v1/orders/7/events", "/v1/orders/{id}/events id=7"),
            ("DELETE", "/v1/kv/a/b/c", "405 GET,HEAD,PUT"),
            ("POST", "/healthz", "405 GET,HEAD"),
            ("GET", "/v1/kv/a/b/%zz", "404"),
            ("GET", "/v1/kv/a//c", "404"),
            ("GET", "/v1/kv/a/b/c/", "404"),
            ("GET", "/v1/kv/a/b", "404"),
            ("GET", "/healthz/", "404"),
            ("GET", "/health", "404"),
            ("GET", "healthz", "404"),
            ("GET", "", "404"),
            ("GET", "/", "404"),
        ]
        for (method, path, expected) in cases {
            XCTAssertEqual(describe(router.match(method: method, path: path[...])), expected, "\(method) \(path)")
            // The same path as a request-target, with and without a query string.
            XCTAssertEqual(describe(router.match(method: method, target: path)), expected, "\(method) \(path)")
            XCTAssertEqual(
                describe(router.match(method: method, target: path + "?a=/x&b")), expected, "\(method) \(path)?…")
        }
    }

    func testParametersAreFoundByName() {
        let parameters: RouteParameters = ["ns": "a", "set": "b"]
        XCTAssertEqual(parameters["set"], "b")
        XCTAssertNil(parameters["key"])
        XCTAssertEqual(parameters.count, 2)
    }
}
