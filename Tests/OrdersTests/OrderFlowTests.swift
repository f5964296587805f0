import Orders
import XCTest

/// The workflow's rules without a store: what each state needs, what it holds in each
/// kitchen mode, which transitions a compare-and-set may make.
final class OrderFlowTests: XCTestCase {
    func testEachStatusNeedsTheNextStep() {
        let table: [(OrderStatus, Bool, OrderFlow.Need)] = [
            (.received, false, .checkCustomer),
            (.checked, false, .reserve),
            (.waitingForStock, false, .restock),
            (.reserved, false, .resource(.cook, then: .cooking)),
            (.cooking, false, .nothing),
            (.cooking, true, .resource(.oven, then: .baking)),
            (.baking, false, .nothing),
            (.baking, true, .resource(.rider, then: .delivering)),
            (.delivering, false, .nothing),
            (.delivering, true, .finish),
            (.delivered, false, .nothing),
            (.rejected, false, .nothing),
        ]
        for (status, done, need) in table {
            XCTAssertEqual(OrderFlow.need(status, stepDone: done), need, "\(status) done=\(done)")
        }
    }

    func testTheEventedKitchenFreesACookAfterCookingAndTheBlockingOneOnlyAtDelivery() {
        XCTAssertEqual(OrderFlow.holds(.cooking, stepDone: false, mode: .evented), [.cook])
        XCTAssertEqual(OrderFlow.holds(.cooking, stepDone: true, mode: .evented), [])
        XCTAssertEqual(OrderFlow.holds(.baking, stepDone: false, mode: .evented), [.oven])
        XCTAssertEqual(OrderFlow.holds(.delivering, stepDone: false, mode: .evented), [.rider])
        XCTAssertEqual(OrderFlow.holds(.cooking, stepDone: true, mode: .blocking), [.cook])
        XCTAssertEqual(OrderFlow.holds(.baking, stepDone: false, mode: .blocking), [.cook, .oven])
        XCTAssertEqual(OrderFlow.holds(.delivering, stepDone: true, mode: .blocking), [.cook])
        XCTAssertEqual(OrderFlow.holds(.reserved, stepDone: false, mode: .blocking), [])
        XCTAssertEqual(OrderFlow.holds(.delivered, stepDone: false, mode: .blocking), [])
    }

    func testTransitionsAndHistories() {
        XCTAssertTrue(OrderFlow.isValidHistory(OrderFlow.happyPath))
        XCTAssertTrue(
            OrderFlow.isValidHistory([
                .received, .checked, .waitingForStock, .reserved, .cooking, .baking, .delivering, .delivered,
            ]))
        XCTAssertTrue(OrderFlow.isValidHistory([.received, .rejected]))
        XCTAssertFalse(OrderFlow.isValidHistory([.received, .checked, .reserved, .cooking, .cooking]), "a step twice")
        XCTAssertFalse(OrderFlow.isValidHistory([.received, .checked, .cooking]), "a skipped step")
        XCTAssertFalse(OrderFlow.isValidHistory([.checked, .reserved]), "no start")
        XCTAssertFalse(OrderFlow.allows(from: .delivered, to: .received))
        XCTAssertFalse(OrderFlow.allows(from: .waitingForStock, to: .waitingForStock))
    }

    func testPriceAndIdealTime() {
        let items = [OrderItem(pizza: "margherita", quantity: 2), OrderItem(pizza: "diavola", quantity: 1)]
        let noon: Int64 = 12 * 3_600_000
        let evening: Int64 = 19 * 3_600_000
        XCTAssertEqual(Menu.priceCents(items: items, distanceKm: 3, wallMs: noon), 2 * 850 + 1100 + 300)
        XCTAssertEqual(Menu.priceCents(items: items, distanceKm: 3, wallMs: evening), 2 * 850 + 1100 + 300 + 280)
        var settings = KitchenSettings()
        settings.minuteMs = 10
        XCTAssertEqual(settings.idealMs(distanceKm: 2), (3 + 5 + 4) * 10)
        XCTAssertEqual(settings.deliveryMs(distanceKm: 0), 20, "at least one km")
        XCTAssertEqual(Menu.ingredients(for: items).first { $0.name == "mozzarella" }?.amount, 3)
    }
}
