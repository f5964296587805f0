import EventLoop
import Store
import XCTest

@testable import Gateway
@testable import HTTP

/// /metrics is rendered from the `Metrics.Name` table: every name gets its HELP and
/// TYPE once, in table order, and every sample belongs to the name it follows.
final class MetricsRenderTests: XCTestCase {
    func testEveryMetricIsDeclaredOnceWithItsKindAndEverySampleUnderIt() throws {
        let loop = try Loop()
        let store = try Store(loop: loop, url: StoreURL(parsing: "redis://127.0.0.1:1"))
        let gateway = Gateway(loop: loop, store: store)
        gateway.metrics.record(
            ResponseSummary(
                requestID: "r", method: "GET", route: "/healthz", status: 200, durationNanoseconds: 700_000,
                bytesIn: 0, bytesOut: 10))
        let text = gateway.metrics.render(server: gateway.server, store: store)
        var declared: [String] = []
        var current: String?
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") {
                current = String(line.dropFirst(7).prefix { $0 != " " })
                declared.append(current!)
            } else if line.hasPrefix("# TYPE "), let current {
                let metric = try XCTUnwrap(Metrics.Name(rawValue: current))
                XCTAssertEqual(line, "# TYPE \(current) \(metric.kind.rawValue)")
            } else {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                let owner = try XCTUnwrap(current, line)
                XCTAssertTrue(name == owner || name.hasPrefix(owner + "_"), "\(line) under \(owner)")
            }
        }
        XCTAssertEqual(declared, Metrics.Name.allCases.map(\.rawValue))
        XCTAssertTrue(text.contains("# TYPE storegate_http_requests_total counter"))
        XCTAssertTrue(text.contains("# TYPE storegate_layer2_capacity gauge"))
        XCTAssertTrue(text.contains(#"storegate_http_requests_total{route="/healthz",method="GET",status="200"} 1"#))
        XCTAssertTrue(text.contains(#"storegate_http_request_duration_seconds_bucket{route="/healthz",le="0.001"} 1"#))
        store.close()
        XCTAssertEqual(loop.close(), 0)
    }
}
