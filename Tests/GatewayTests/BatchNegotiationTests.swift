import Foundation
import TestSupport
import XCTest

/// `POST /v1/batch` streams NDJSON only when the client prefers it over JSON; a client
/// that accepts both equally (generated clients list every content type) gets ordered JSON.
final class BatchNegotiationTests: GatewayOverRedisTestCase {
    private func batch(accept: String?) throws -> ParsedResponse {
        let body =
            #"{"operations":[{"op":"put","namespace":"t","set":"s","key":"k","bins":{"v":1}},{"op":"get","namespace":"t","set":"s","key":"k"}]}"#
        return try call("POST", "/v1/batch", body: body, headers: accept.map { ["Accept": $0] } ?? [:])
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
