import EventLoop
import Foundation
import Gateway
import Orders
import Store
import TestSupport
import XCTest

/// openapi.yaml and the route table describe the same API, and the gateway serves the file.
final class ContractTests: XCTestCase {
    static let specURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("openapi.yaml")

    /// (method, path) pairs under `paths:` — a small reader for this file's layout.
    static func specOperations() throws -> Set<String> {
        let text = try String(contentsOf: specURL, encoding: .utf8)
        var operations = Set<String>()
        var path: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" {
                inPaths = true
                continue
            }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let name = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "put", "post", "patch", "delete", "head"].contains(String(name)) {
                    operations.insert("\(name.uppercased()) \(path)")
                }
            }
        }
        return operations
    }

    func testEveryRouteIsInTheSpecAndEveryOperationIsRouted() throws {
        let loop = try Loop()
        let store = try Store(loop: loop, url: StoreURL(parsing: "redis://127.0.0.1:1"))
        let gateway = Gateway(loop: loop, store: store)
        _ = Pizzeria(gateway: gateway, settings: KitchenSettings())  // the executable adds these routes too
        let routes = Set(gateway.routeTemplates.map { "\($0.method) \($0.template)" })
        let spec = try Self.specOperations()
        XCTAssertFalse(spec.isEmpty)
        let specWithoutHead = spec.filter { !$0.hasPrefix("HEAD ") }
        XCTAssertEqual(routes.subtracting(specWithoutHead), [], "routes missing from openapi.yaml")
        XCTAssertEqual(specWithoutHead.subtracting(routes), [], "operations in openapi.yaml with no route")
        for head in spec where head.hasPrefix("HEAD ") {
            XCTAssertTrue(routes.contains("GET " + head.dropFirst(5)), "\(head) is served by a GET route")
        }
        store.close()
        XCTAssertEqual(loop.close(), 0)
    }

    func testTheGatewayServesTheSpecFile() throws {
        let gateway = try GatewayProcess(arguments: ["--openapi-path", Self.specURL.path])
        let served = try gateway.get("/openapi.yaml")
        XCTAssertEqual(served.status, 200)
        XCTAssertEqual(served.header("Content-Type"), "application/yaml")
        XCTAssertEqual(served.body, Array(try Data(contentsOf: Self.specURL)))
    }
}
