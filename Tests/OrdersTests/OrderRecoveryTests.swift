import Foundation
import Orders
import TestSupport
import XCTest

/// `kill -9` in the middle of hundreds of orders: the next gateway resumes every
/// unfinished one from the store, and each is delivered exactly once.
final class OrderRecoveryTests: XCTestCase {
    func testKillNineWithHundredsOfOrdersInFlightLosesNoneAndRepeatsNoStep() throws {
        let pizzeria = try PizzeriaHarness(minuteMs: 10, ["--cooks", "4", "--ovens", "4", "--riders", "4"])
        // 200 margheritas and 100 marinaras; basil for only 100 of the margheritas.
        try pizzeria.redis.cli(["HSET", "pizzeria:{stock}", "basil", "100"])
        let customers = ["alice", "bob", "carla", "dario", "elena"]
        let bodies = (0..<300).map {
            PizzeriaHarness.orderBody(customer: customers[$0 % 5], pizza: $0 % 3 == 2 ? "marinara" : "margherita")
        }
        let ids = try pizzeria.placeOrders(bodies, connections: 6)
        XCTAssertEqual(Set(ids).count, 300)

        // Kill once some are delivered and the rest are spread over the states.
        var atKill: [String: String] = [:]
        let spread = try eventually(within: 30) {
            atKill = try pizzeria.storedStatuses(ids)
            let states = Set(atKill.values)
            return states.contains("delivered") && states.subtracting(["delivered"]).count >= 3
        }
        pizzeria.gateway.stop(signal: SIGKILL)
        atKill = try pizzeria.storedStatuses(ids)
        XCTAssertTrue(spread, "states before the kill: \(Set(atKill.values))")
        let unfinished = atKill.values.filter { $0 != "delivered" }.count
        XCTAssertGreaterThan(
            unfinished, 50, "hundreds in flight: \(Dictionary(grouping: atKill.values, by: { $0 }).mapValues(\.count))")
        XCTAssertTrue(atKill.values.contains("waiting_for_stock"))

        try pizzeria.restart()
        XCTAssertEqual(try pizzeria.restock(["basil": 100]).status, 200)
        let done = try eventually(within: 60) { try pizzeria.redis.cli(["SCARD", "pizzeria:orders:active"]) == "0" }
        XCTAssertTrue(done, "still active: \((try? pizzeria.redis.cli(["SCARD", "pizzeria:orders:active"])) ?? "?")")
        XCTAssertTrue(pizzeria.gateway.log.contains("\"resumed\":\"\(unfinished)\""), "every unfinished order resumed")

        let statuses = try pizzeria.storedStatuses(ids)
        XCTAssertEqual(statuses.values.filter { $0 == "delivered" }.count, 300, "no order lost")
        for id in ids {
            let history = try pizzeria.history(id).compactMap(OrderStatus.init(rawValue:))
            XCTAssertTrue(OrderFlow.isValidHistory(history), "\(id): \(history)")
            XCTAssertEqual(history.last, .delivered, id)
            // Timers re-armed for the time left, not skipped: each timed step lasted its
            // minutes (3 cooking, 5 baking, 2 per km delivering at 10 ms), across the restart too.
            let timed = try pizzeria.timedHistory(id)
            func at(_ status: String) -> Int64 { timed.first { $0.status == status }?.at ?? 0 }
            XCTAssertGreaterThanOrEqual(at("baking") - at("cooking"), 30, id)
            XCTAssertGreaterThanOrEqual(at("delivering") - at("baking"), 50, id)
            XCTAssertGreaterThanOrEqual(at("delivered") - at("delivering"), 20, id)
        }
        // Each reservation happened once: the stock went down by exactly what 300 orders take.
        XCTAssertEqual(try pizzeria.stock("dough"), Menu.initialStock - 300)
        XCTAssertEqual(try pizzeria.stock("basil"), 0)
        XCTAssertEqual(try pizzeria.stock("garlic"), Menu.initialStock - 100)
        XCTAssertEqual(try pizzeria.redis.cli(["HLEN", "pizzeria:{stock}:reserved"]), "0")
    }
}
