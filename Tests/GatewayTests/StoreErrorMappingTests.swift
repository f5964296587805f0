import Foundation
import HTTP
import RESP
import Store
import TestSupport
import XCTest

@testable import Gateway

/// One store-error mapping for every route family: the table itself, then the records
/// routes and the pizzeria routes answering the same failure with the same status and code.
final class StoreErrorMappingTests: XCTestCase {
    private struct Expected {
        let status: Int
        let code: String
        let retryAfter: Int?
        /// What a write says about its outcome; reads never say.
        let inDoubtForWrite: Bool?
    }

    private let table: [(StoreError.Kind, Expected)] = [
        (.overloaded, Expected(status: 503, code: "overloaded", retryAfter: 1, inDoubtForWrite: nil)),
        (.nodeDown, Expected(status: 503, code: "store_unavailable", retryAfter: 1, inDoubtForWrite: nil)),
        (.certificateRejected, Expected(status: 503, code: "store_unavailable", retryAfter: 1, inDoubtForWrite: nil)),
        (.closed, Expected(status: 503, code: "shutting_down", retryAfter: 1, inDoubtForWrite: nil)),
        (
            .timeout(outcomeUnknown: true),
            Expected(status: 504, code: "store_timeout", retryAfter: nil, inDoubtForWrite: true)
        ),
        (
            .timeout(outcomeUnknown: false),
            Expected(status: 504, code: "store_timeout", retryAfter: nil, inDoubtForWrite: false)
        ),
        (
            .connectionLost(outcomeUnknown: true),
            Expected(status: 502, code: "store_connection_lost", retryAfter: nil, inDoubtForWrite: true)
        ),
        (
            .connectionLost(outcomeUnknown: false),
            Expected(status: 502, code: "store_connection_lost", retryAfter: nil, inDoubtForWrite: false)
        ),
        (.clusterDown, Expected(status: 503, code: "cluster_unavailable", retryAfter: 1, inDoubtForWrite: nil)),
        (.crossSlot, Expected(status: 400, code: "cross_slot", retryAfter: nil, inDoubtForWrite: nil)),
        (
            .authenticationFailed,
            Expected(status: 502, code: "store_auth_failed", retryAfter: nil, inDoubtForWrite: nil)
        ),
        (.protocolError, Expected(status: 502, code: "store_error", retryAfter: nil, inDoubtForWrite: nil)),
        (.invalidConfiguration, Expected(status: 500, code: "internal_error", retryAfter: nil, inDoubtForWrite: nil)),
    ]

    func testEveryStoreErrorHasOneStatusAndCode() {
        for (kind, expected) in table {
            let error = StoreError(kind, "why")
            for isWrite in [false, true] {
                // Both the refusal path (returned at once) and the completion path map alike.
                let refused = GatewayError(error, isWrite: isWrite)
                guard case .failure(let completed) = GatewayError.result(.failure(error), isWrite: isWrite) else {
                    return XCTFail("\(kind): a failure must stay a failure")
                }
                for mapped in [refused, completed] {
                    XCTAssertEqual(mapped.status, expected.status, "\(kind)")
                    XCTAssertEqual(mapped.code, expected.code, "\(kind)")
                    XCTAssertEqual(mapped.message, "why", "\(kind)")
                    XCTAssertEqual(mapped.retryAfterSeconds, expected.retryAfter, "\(kind)")
                    XCTAssertEqual(mapped.inDoubt, isWrite ? expected.inDoubtForWrite : nil, "\(kind) write=\(isWrite)")
                }
                let response = ErrorResponse.make(refused, requestID: "r1")
                XCTAssertEqual(response.status, expected.status)
                XCTAssertEqual(response.headers["Retry-After"], expected.retryAfter.map(String.init))
            }
        }
    }

    func testAnErrorReplyIsA502StoreErrorAndAReplyPassesThrough() {
        guard case .failure(let error) = GatewayError.result(.success(.error("WRONGTYPE no")), isWrite: true) else {
            return XCTFail("an error reply is a failure")
        }
        XCTAssertEqual(error.status, 502)
        XCTAssertEqual(error.code, "store_error")
        XCTAssertNil(error.inDoubt)
        guard case .success(let value) = GatewayError.result(.success(.integer(7)), isWrite: false) else {
            return XCTFail("a reply passes through")
        }
        XCTAssertEqual(value, .integer(7))
    }

    // MARK: both route families, end to end

    private static let orderID = "0123456789abcdef"

    private func startPizzeria(_ extra: [String] = []) throws -> (RedisServer, GatewayProcess) {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(
            arguments: ["--store", redis.url, "--pizzeria", "on", "--minute-ms", "5", "--access-log", "off"] + extra)
        return (redis, gateway)
    }

    private static func post(_ method: String, _ path: String, _ body: String) -> String {
        "\(method) \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    private func assertSame(
        _ records: ParsedResponse, _ orders: ParsedResponse, status: Int, code: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(records.status, status, "records: \(records)", file: file, line: line)
        XCTAssertEqual(records.errorCode, code, "records: \(records)", file: file, line: line)
        XCTAssertEqual(orders.status, status, "orders: \(orders)", file: file, line: line)
        XCTAssertEqual(orders.errorCode, code, "orders: \(orders)", file: file, line: line)
    }

    func testAStoppedStoreIsTheSameAnswerFromRecordsAndOrders() throws {
        let (redis, gateway) = try startPizzeria()
        XCTAssertEqual(try gateway.get("/v1/kv/test/s/k").status, 404)
        redis.stop()
        // The first command may still meet the dropped connection; then the node is down.
        var records = try gateway.get("/v1/kv/test/s/k")
        var orders = try gateway.get("/v1/orders/\(Self.orderID)")
        XCTAssertTrue(
            eventually(within: 10) {
                records = (try? gateway.get("/v1/kv/test/s/k")) ?? records
                orders = (try? gateway.get("/v1/orders/\(Self.orderID)")) ?? orders
                return records.errorCode == "store_unavailable" && orders.errorCode == "store_unavailable"
            }, "records: \(records) orders: \(orders)")
        assertSame(records, orders, status: 503, code: "store_unavailable")
        XCTAssertEqual(records.header("Retry-After"), "1")
        XCTAssertEqual(orders.header("Retry-After"), "1")
        XCTAssertEqual(gateway.stop(), 0, gateway.log)
    }

    func testAnErrorReplyIsTheSameAnswerFromRecordsAndOrders() throws {
        let (redis, gateway) = try startPizzeria()
        // Plain strings where a record hash and an order hash should be.
        try redis.cli(["SET", "sg:{test/s/clash}", "not a hash"])
        try redis.cli(["SET", "pizzeria:order:{o:\(Self.orderID)}", "not a hash"])
        let records = try gateway.get("/v1/kv/test/s/clash")
        let orders = try gateway.get("/v1/orders/\(Self.orderID)")
        assertSame(records, orders, status: 502, code: "store_error")
        XCTAssertEqual(gateway.stop(), 0, gateway.log)
    }

    func testAnOversizedJSONBodyIsTheSameAnswerFromRecordsAndOrders() throws {
        // The HTTP limit raised above the JSON parser's 1 MiB, so the parser is the one refusing.
        let (_, gateway) = try startPizzeria(["--max-body-bytes", "3000000"])
        let padding = String(repeating: "x", count: 2 << 20)
        let records = try gateway.request(Self.post("PUT", "/v1/kv/test/s/big", #"{"bins":{"v":"\#(padding)"}}"#))
        let orders = try gateway.request(
            Self.post(
                "POST", "/v1/orders",
                #"{"customer":"alice","items":[{"pizza":"margherita","quantity":1}],"address":"\#(padding)"}"#))
        assertSame(records, orders, status: 413, code: "body_too_large")
        XCTAssertEqual(gateway.stop(), 0, gateway.log)
    }

    /// One connection of depth one and a one-command queue, redis frozen: a records read
    /// fills the wire, a second the queue; then a records read and an order read are both
    /// refused at once, alike. A write that times out unsent says so from both families too.
    func testAnOverloadedAndATimedOutStoreAreTheSameAnswerFromRecordsAndOrders() throws {
        let (redis, gateway) = try startPizzeria([
            "--max-conns-per-node", "1", "--max-pipeline-per-conn", "1", "--max-queued-per-node", "1",
            "--store-timeout-ms", "300",
        ])
        // The kitchen's start-up work shares the one connection: wait until a read has it alone.
        XCTAssertTrue(
            eventually(within: 10) { (try? gateway.get("/v1/kv/test/s/k").status) == 404 }, "the connection is open")
        redis.pause()
        defer { redis.resume() }
        var waiting: [RawHTTPClient] = []
        for _ in 0..<2 {
            let client = try gateway.connect()
            try client.send("GET /v1/kv/test/s/k HTTP/1.1\r\nHost: t\r\n\r\n")
            waiting.append(client)
        }
        let queued = "storegate_layer3_store_queue_depth{node=\"127.0.0.1:\(redis.port)\"}"
        XCTAssertTrue(eventually(within: 5) { metricValue((try? gateway.get("/metrics").bodyText) ?? "", queued) == 1 })
        let records = try gateway.get("/v1/kv/test/s/k")
        let orders = try gateway.get("/v1/orders/\(Self.orderID)")
        assertSame(records, orders, status: 503, code: "overloaded")
        for client in waiting { XCTAssertEqual(client.readResponse()?.status, 504, "the waiting reads time out") }

        let write = try gateway.request(Self.post("PUT", "/v1/kv/test/s/k", #"{"bins":{"v":1}}"#))
        let restock = try gateway.request(Self.post("POST", "/v1/kitchen/restock", #"{"ingredients":{"basil":1}}"#))
        assertSame(write, restock, status: 504, code: "store_timeout")
        // The abandoned reads still hold the one pipeline slot: neither write was sent.
        for response in [write, restock] {
            XCTAssertEqual((response.json?["error"] as? [String: Any])?["in_doubt"] as? Bool, false, "\(response)")
        }
        redis.resume()
        XCTAssertEqual(gateway.stop(), 0, gateway.log)
    }
}
