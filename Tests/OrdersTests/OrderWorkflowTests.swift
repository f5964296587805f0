import Foundation
import Orders
import TestSupport
import XCTest

/// Orders through the real gateway and a real redis-server, with a story minute of a
/// few milliseconds.
final class OrderWorkflowTests: XCTestCase {
    func testOneOrderEndToEndWithTimelineAndEventStream() throws {
        let pizzeria = try PizzeriaHarness(minuteMs: 10)
        let menu = try pizzeria.gateway.get("/v1/menu")
        XCTAssertEqual(menu.status, 200)
        XCTAssertEqual((menu.json?["pizzas"] as? [[String: Any]])?.count, Menu.pizzas.count)

        let placed = try pizzeria.placeOrder(PizzeriaHarness.orderBody(customer: "alice", quantity: 2))
        XCTAssertEqual(placed.status, 202, placed.description)
        let id = try XCTUnwrap(placed.json?["id"] as? String)
        XCTAssertEqual(placed.header("Location"), "/v1/orders/\(id)")
        XCTAssertEqual(placed.json?["status"] as? String, "received")

        // The event stream from the start: every transition, then the stream ends.
        let events = try pizzeria.gateway.connect(timeout: 20)
        try events.send("GET /v1/orders/\(id)/events HTTP/1.1\r\nHost: t\r\n\r\n")
        let stream = try XCTUnwrap(events.readResponse(), "the stream ends once the order is delivered")
        XCTAssertEqual(stream.status, 200)
        XCTAssertEqual(stream.header("Content-Type"), "text/event-stream")
        XCTAssertTrue(stream.chunked)
        let streamed = PizzeriaHarness.serverSentEvents(stream.bodyText).compactMap { $0["status"] as? String }
        XCTAssertEqual(streamed, OrderFlow.happyPath.map(\.rawValue))
        XCTAssertTrue(stream.bodyText.contains("id: "), "each event carries its stream id")

        let order = try pizzeria.order(id)
        XCTAssertEqual(order["status"] as? String, "delivered")
        XCTAssertEqual(PizzeriaHarness.statuses(order["timeline"]), OrderFlow.happyPath.map(\.rawValue))
        let price = try XCTUnwrap(order["price"] as? Double)
        XCTAssertTrue([18.0, 19.7].contains(price), "2 × 8.50 + 1 km (+10 % in the evening rush): \(price)")
        // Timed steps last at least their story minutes (lower bounds only: the machine is shared).
        let times = try XCTUnwrap(order["timeline"] as? [[String: Any]]).map { parseTimestamp($0["at"]) }
        let at = times.compactMap { $0 }
        XCTAssertEqual(at.count, 7)
        XCTAssertEqual(at, at.sorted())
        XCTAssertGreaterThanOrEqual(at[4].timeIntervalSince(at[3]), 0.025, "cooking is 3 minutes")
        XCTAssertGreaterThanOrEqual(at[5].timeIntervalSince(at[4]), 0.045, "baking is 5 minutes")
        XCTAssertGreaterThanOrEqual(at[6].timeIntervalSince(at[5]), 0.015, "1 km is 2 minutes")

        XCTAssertEqual(try pizzeria.history(id), OrderFlow.happyPath.map(\.rawValue))
        XCTAssertEqual(try pizzeria.redis.cli(["SCARD", "pizzeria:orders:active"]), "0")
        XCTAssertEqual(try pizzeria.stock("basil"), Menu.initialStock - 2)
        XCTAssertEqual(try pizzeria.stock("garlic"), Menu.initialStock)
        let kitchen = try pizzeria.kitchen()
        XCTAssertEqual((kitchen["orders"] as? [String: Any])?["delivered"] as? Int, 1)
        XCTAssertEqual((kitchen["cooks"] as? [String: Any])?["free"] as? Int, 4)

        // A stream opened after delivery replays the history and ends; Last-Event-ID resumes after it.
        let replay = try pizzeria.gateway.get("/v1/orders/\(id)/events")
        XCTAssertEqual(PizzeriaHarness.serverSentEvents(replay.bodyText).count, 7)
        let ids = replay.bodyText.components(separatedBy: "\n").filter { $0.hasPrefix("id: ") }.map {
            String($0.dropFirst(4))
        }
        let tail = try pizzeria.gateway.request(
            "GET /v1/orders/\(id)/events HTTP/1.1\r\nHost: t\r\nLast-Event-ID: \(ids[4])\r\n\r\n")
        XCTAssertEqual(
            PizzeriaHarness.serverSentEvents(tail.bodyText).compactMap { $0["status"] as? String },
            ["delivering", "delivered"])
        XCTAssertEqual(pizzeria.gateway.stop(), 0)
    }

    func testAnOrderShortOfStockWaitsHoldingNothingAndCompletesAfterARestock() throws {
        let pizzeria = try PizzeriaHarness(minuteMs: 5)
        try pizzeria.redis.cli(["HSET", "pizzeria:{stock}", "basil", "0"])
        let id = try XCTUnwrap(try pizzeria.placeOrder().json?["id"] as? String)
        XCTAssertTrue(try eventually(within: 10) { try pizzeria.order(id)["status"] as? String == "waiting_for_stock" })
        let waiting = try pizzeria.order(id)
        XCTAssertEqual(waiting["missing"] as? [String], ["basil"])
        XCTAssertEqual(try pizzeria.stock("dough"), Menu.initialStock, "holding nothing while it waits")
        XCTAssertEqual(try pizzeria.stock("basil"), 0)
        XCTAssertEqual(((try pizzeria.kitchen())["queues"] as? [String: Any])?["stock"] as? Int, 1)

        let refused = try pizzeria.restock(["pineapple": 3])
        XCTAssertEqual(refused.status, 400)
        XCTAssertEqual(refused.errorCode, "unknown_ingredient")
        let restocked = try pizzeria.restock(["basil": 1])
        XCTAssertEqual(restocked.status, 200, restocked.description)
        XCTAssertEqual((restocked.json?["stock"] as? [String: Any])?["basil"] as? Int, 1)

        XCTAssertTrue(try eventually(within: 10) { try pizzeria.order(id)["status"] as? String == "delivered" })
        XCTAssertEqual(
            try pizzeria.history(id),
            ["received", "checked", "waiting_for_stock", "reserved", "cooking", "baking", "delivering", "delivered"])
        XCTAssertEqual(try pizzeria.stock("basil"), 0)
        XCTAssertEqual(try pizzeria.stock("dough"), Menu.initialStock - 1)
    }

    /// 1,000 orders compete for 300 portions of basil: exactly 300 get it, stock ends at 0
    /// and never dips below; the rest wait, then finish after a restock.
    func testStockNeverGoesNegativeUnderAThousandConcurrentOrders() throws {
        let pizzeria = try PizzeriaHarness(minuteMs: 1, ["--cooks", "50", "--ovens", "50", "--riders", "50"])
        try pizzeria.redis.cli([
            "HSET", "pizzeria:{stock}", "dough", "5000", "tomato", "5000", "mozzarella", "5000", "basil", "300",
        ])
        let customers = ["alice", "bob", "carla", "dario", "elena"]
        let bodies = (0..<1000).map { PizzeriaHarness.orderBody(customer: customers[$0 % 5]) }
        let ids = try pizzeria.placeOrders(bodies, connections: 10)
        XCTAssertEqual(Set(ids).count, 1000)
        var lowest = Int.max
        let settled = try eventually(within: 60) {
            lowest = min(lowest, try pizzeria.stock("basil"))
            let orders = try XCTUnwrap(try pizzeria.kitchen()["orders"] as? [String: Any])
            return orders["delivered"] as? Int == 300 && orders["waiting_for_stock"] as? Int == 700
        }
        XCTAssertTrue(settled, "\(String(describing: try? pizzeria.kitchen()))")
        XCTAssertGreaterThanOrEqual(lowest, 0)
        XCTAssertEqual(try pizzeria.stock("basil"), 0)
        XCTAssertEqual(try pizzeria.stock("dough"), 5000 - 300)
        XCTAssertEqual(
            try pizzeria.redis.cli(["HLEN", "pizzeria:{stock}:reserved"]), "0", "no waiting order holds anything")

        XCTAssertEqual(try pizzeria.restock(["basil": 700]).status, 200)
        XCTAssertTrue(
            try eventually(within: 60) { try pizzeria.redis.cli(["SCARD", "pizzeria:orders:active"]) == "0" })
        let statuses = try pizzeria.storedStatuses(ids)
        XCTAssertEqual(statuses.values.filter { $0 == "delivered" }.count, 1000)
        XCTAssertEqual(try pizzeria.stock("basil"), 0)
        XCTAssertEqual(try pizzeria.stock("dough"), 5000 - 1000)
    }

    func testARetriedOrderWithTheSameIdempotencyKeyIsOneOrder() throws {
        let pizzeria = try PizzeriaHarness(minuteMs: 5)
        let body = PizzeriaHarness.orderBody(customer: "bob", pizza: "funghi")
        let first = try pizzeria.placeOrder(body, headers: ["Idempotency-Key: order-42"])
        XCTAssertEqual(first.status, 202)
        let id = try XCTUnwrap(first.json?["id"] as? String)
        XCTAssertNil(first.header("Idempotent-Replayed"))
        // Retries, one after another and several at once, all name the same order.
        let again = try pizzeria.placeOrder(body, headers: ["Idempotency-Key: order-42"])
        XCTAssertEqual(again.status, 202)
        XCTAssertEqual(again.json?["id"] as? String, id)
        XCTAssertEqual(again.header("Location"), "/v1/orders/\(id)")
        XCTAssertEqual(again.header("Idempotent-Replayed"), "true")
        let racing = try (0..<5).map { _ in try pizzeria.gateway.connect() }
        for client in racing {
            try client.send(PizzeriaHarness.post("/v1/orders", body, headers: ["Idempotency-Key: order-42"]))
        }
        for client in racing { XCTAssertEqual(client.readResponse()?.json?["id"] as? String, id) }
        let other = try pizzeria.placeOrder(body, headers: ["Idempotency-Key: order-43"])
        XCTAssertNotEqual(other.json?["id"] as? String, id)

        XCTAssertTrue(try eventually(within: 10) { try pizzeria.order(id)["status"] as? String == "delivered" })
        let orderKeys = try pizzeria.redis.cli(["KEYS", "pizzeria:order:*"]).split(separator: "\n").filter {
            !$0.hasSuffix(":events")
        }
        XCTAssertEqual(orderKeys.count, 2, "one order per key")
        XCTAssertEqual(try pizzeria.history(id).filter { $0 == "received" }.count, 1)
        XCTAssertEqual(try pizzeria.stock("mushrooms"), Menu.initialStock - 2, "two orders took mushrooms, not seven")
    }

    /// The blocking kitchen keeps its one cook with an order until it is delivered; the
    /// evented one starts the next order as soon as the first is in the oven.
    func testTheBlockingKitchenHoldsTheCookThroughDelivery() throws {
        for mode in ["blocking", "evented"] {
            let pizzeria = try PizzeriaHarness(minuteMs: 10, ["--kitchen", mode, "--cooks", "1"])
            let ids = try pizzeria.placeOrders(
                [PizzeriaHarness.orderBody(), PizzeriaHarness.orderBody()], connections: 1)
            XCTAssertTrue(
                try eventually(within: 15) { try pizzeria.storedStatuses(ids).values.allSatisfy { $0 == "delivered" } })
            let first = try pizzeria.order(ids[0])
            let second = try pizzeria.order(ids[1])
            func time(_ order: [String: Any], _ status: String) -> Date? {
                (order["timeline"] as? [[String: Any]])?.first { $0["status"] as? String == status }.flatMap {
                    parseTimestamp($0["at"])
                }
            }
            let (a, b) = (first, second)
            let (earlier, later) = try XCTUnwrap(time(a, "cooking")) < XCTUnwrap(time(b, "cooking")) ? (a, b) : (b, a)
            let laterCooking = try XCTUnwrap(time(later, "cooking"))
            if mode == "blocking" {
                XCTAssertGreaterThanOrEqual(laterCooking, try XCTUnwrap(time(earlier, "delivered")), mode)
            } else {
                XCTAssertLessThan(laterCooking, try XCTUnwrap(time(earlier, "delivered")), mode)
                XCTAssertGreaterThanOrEqual(
                    laterCooking.timeIntervalSince(try XCTUnwrap(time(earlier, "cooking"))), 0.025, mode)
            }
        }
    }
}
