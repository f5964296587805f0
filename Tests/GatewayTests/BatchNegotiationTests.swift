import Foundation
import TestSupport
import XCTest

/// `POST /v1/batch` streams NDJSON only when the client prefers it over JSON; a client
/// that accepts both equally (generated clients list every content type) gets ordered JSON.
final class BatchNegotiationTests: XCTestCase {
    private var redis: RedisServer!
    private var gateway: GatewayProcess!

    override func setUpWithError() throws {
        redis = try RedisServer()
        gateway = try GatewayProcess(arguments: ["--store", redis.url])
    }

    override func tearDown() {
        if let gateway { XCTAssertEqual(gateway.stop(), 0, gateway.log) }
        gateway = nil
        redis = nil
    }

    private func batch(accept: String?) throws -> ParsedResponse {
        let body =
            #"{"operations":[{"op":"put","namespace":"t","set":"s","key":"k","bins":{"v":1}},{"op":"get","namespace":"t","set":"s","key":"k"}]}"#
        var head = "POST /v1/batch HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        if let accept { head += "Accept: \(accept)\r\n" }
        return try gateway.request(head + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
    }

    func testStreamsOnlyWhenNDJSONIsPreferred() throws {
        let cases: [(String?, Bool)] = [
            (nil, false),
            ("*/*", false),
            ("application/json", false),
            ("application/json, application/x-ndjson", false),
            ("application/x-ndjson, application/json", false),
            ("application/x-ndjson", true),
            ("application/x-ndjson, */*;q=0.5", true),
            ("application/json;q=0.9, application/x-ndjson", true),
            ("application/x-ndjson;q=0.2, application/json;q=0.8", false),
            ("APPLICATION/X-NDJSON ; Q=1", true),
        ]
        for (accept, streams) in cases {
            let response = try batch(accept: accept)
            XCTAssertEqual(response.status, 200, "\(accept ?? "no Accept")")
            XCTAssertEqual(
                response.header("Content-Type"), streams ? "application/x-ndjson" : "application/json",
                "\(accept ?? "no Accept")")
            XCTAssertEqual(response.chunked, streams, "\(accept ?? "no Accept")")
        }
    }
}
