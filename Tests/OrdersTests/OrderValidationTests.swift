import Foundation
import TestSupport
import XCTest

/// Orders that can't be taken get a clear 4xx and leave the store exactly as it was.
final class OrderValidationTests: XCTestCase {
    func testInvalidOrdersAreRefusedAndChangeNothing() throws {
        let pizzeria = try PizzeriaHarness(minuteMs: 5)
        let before = try snapshot(pizzeria.redis)
        let cases: [(String, String, Int, String)] = [
            (
                "unknown pizza", #"{"customer":"alice","items":[{"pizza":"hawaii","quantity":1}],"address":"x"}"#, 400,
                "unknown_pizza"
            ),
            (
                "quantity 0", #"{"customer":"alice","items":[{"pizza":"margherita","quantity":0}],"address":"x"}"#, 400,
                "invalid_quantity"
            ),
            (
                "huge quantity",
                #"{"customer":"alice","items":[{"pizza":"margherita","quantity":1000000}],"address":"x"}"#, 400,
                "invalid_quantity"
            ),
            (
                "fractional quantity",
                #"{"customer":"alice","items":[{"pizza":"margherita","quantity":1.5}],"address":"x"}"#, 400,
                "invalid_quantity"
            ),
            ("bad JSON", #"{"customer":"alice","items":["#, 400, "invalid_json"),
            ("not an object", #"[1,2]"#, 400, "invalid_json"),
            ("no items", #"{"customer":"alice","items":[],"address":"x"}"#, 400, "invalid_items"),
            (
                "no address", #"{"customer":"alice","items":[{"pizza":"margherita","quantity":1}]}"#, 400,
                "invalid_address"
            ),
            (
                "unknown field",
                #"{"customer":"alice","items":[{"pizza":"margherita","quantity":1}],"address":"x","tip":5}"#, 400,
                "invalid_order"
            ),
            (
                "bad customer key", #"{"customer":"a b","items":[{"pizza":"margherita","quantity":1}],"address":"x"}"#,
                400, "invalid_customer"
            ),
            (
                "unknown customer", #"{"customer":"zoe","items":[{"pizza":"margherita","quantity":1}],"address":"x"}"#,
                422, "unknown_customer"
            ),
        ]
        for (name, body, status, code) in cases {
            for headers in [[], ["Idempotency-Key: k-\(code)"]] {
                let response = try pizzeria.placeOrder(body, headers: headers)
                XCTAssertEqual(response.status, status, "\(name): \(response)")
                XCTAssertEqual(response.errorCode, code, name)
                XCTAssertFalse((response.json?["error"] as? [String: Any])?["message"] as? String ?? "" == "", name)
            }
        }
        let wrongType = try pizzeria.gateway.request(
            PizzeriaHarness.post("/v1/orders", PizzeriaHarness.orderBody(), contentType: "text/plain"))
        XCTAssertEqual(wrongType.status, 415)
        let badKey = try pizzeria.placeOrder(PizzeriaHarness.orderBody(), headers: ["Idempotency-Key: {x}"])
        XCTAssertEqual(badKey.status, 400)
        XCTAssertEqual(badKey.errorCode, "invalid_idempotency_key")
        XCTAssertEqual(try pizzeria.restock(["basil": 0]).status, 400)
        XCTAssertEqual(try pizzeria.restock([:]).status, 400)
        XCTAssertEqual(try pizzeria.gateway.get("/v1/orders/not-an-id").status, 400)
        XCTAssertEqual(try pizzeria.gateway.get("/v1/orders/0123456789abcdef").status, 404)
        XCTAssertEqual(try pizzeria.gateway.get("/v1/orders/0123456789abcdef/events").status, 404)
        XCTAssertEqual(try pizzeria.gateway.get("/v1/kitchen?x=1").status, 400)
        XCTAssertEqual(try snapshot(pizzeria.redis), before, "a refused order changes nothing in the store")
        // Still serving.
        XCTAssertEqual(try pizzeria.placeOrder().status, 202)
    }

    /// Every key with its type and content (hashes, strings, sets, streams: what the pizzeria writes).
    private func snapshot(_ redis: RedisServer) throws -> [String: String] {
        var state: [String: String] = [:]
        for key in try redis.cli(["KEYS", "*"]).split(separator: "\n").map(String.init) {
            switch try redis.cli(["TYPE", key]) {
            case "hash": state[key] = try redis.cli(["HGETALL", key])
            case "string": state[key] = try redis.cli(["GET", key])
            case "set":
                state[key] = try redis.cli(["SMEMBERS", key]).split(separator: "\n").sorted().joined(separator: ",")
            case "stream": state[key] = try redis.cli(["XLEN", key])
            case let other: state[key] = other
            }
        }
        return state
    }
}

/// Without `--pizzeria on` the gateway serves no pizzeria route and writes nothing.
final class PizzeriaSwitchTests: XCTestCase {
    func testThePizzeriaIsOffByDefault() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: ["--store", redis.url, "--access-log", "off"])
        XCTAssertEqual(try gateway.get("/v1/menu").status, 404)
        XCTAssertEqual(try gateway.request(PizzeriaHarness.post("/v1/orders", PizzeriaHarness.orderBody())).status, 404)
        XCTAssertEqual(try gateway.get("/readyz").status, 200)
        XCTAssertEqual(try redis.cli(["DBSIZE"]), "0")
    }
}
