public import XCTest

/// A fresh redis-server and a gateway in front of it for every test; the gateway must
/// exit 0 when the test ends. Subclasses add flags with `gatewayArguments`.
open class GatewayOverRedisTestCase: XCTestCase {
    package var redis: RedisServer!
    package var gateway: GatewayProcess!

    /// Flags after `--store <redis>`.
    open var gatewayArguments: [String] { [] }

    override open func setUpWithError() throws {
        try super.setUpWithError()
        redis = try RedisServer()
        gateway = try GatewayProcess(arguments: ["--store", redis.url] + gatewayArguments)
    }

    override open func tearDown() {
        if let gateway { XCTAssertEqual(gateway.stop(), 0, gateway.log) }
        gateway = nil
        redis = nil
        super.tearDown()
    }

    /// One request to `gateway` on a new connection (see `GatewayProcess.call`).
    @discardableResult
    package func call(
        _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:],
        contentType: String? = "application/json"
    ) throws -> ParsedResponse {
        try gateway.call(method, path, body: body, headers: headers, contentType: contentType)
    }
}
