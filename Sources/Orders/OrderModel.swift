package import JSON

/// Where an order is in the kitchen; the raw values are the API's status names.
package enum OrderStatus: String, CaseIterable, Sendable {
    case received, checked
    case waitingForStock = "waiting_for_stock"
    case reserved, cooking, baking, delivering, delivered, rejected

    package var isFinished: Bool { self == .delivered || self == .rejected }
}

/// One line of an order: a pizza from the menu and how many.
package struct OrderItem: Equatable, Sendable {
    package let pizza: String
    package let quantity: Int

    package init(pizza: String, quantity: Int) {
        self.pizza = pizza
        self.quantity = quantity
    }
}

/// A pizza on the menu: what it takes from the warehouse and what it costs.
package struct Pizza: Sendable {
    package let name: String
    package let ingredients: [(name: String, amount: Int)]
    package let priceCents: Int
}

/// The menu and the initial stock seeded into the store when absent.
package enum Menu {
    package static let pizzas: [Pizza] = [
        Pizza(
            name: "margherita", ingredients: [("dough", 1), ("tomato", 1), ("mozzarella", 1), ("basil", 1)],
            priceCents: 850),
        Pizza(
            name: "marinara", ingredients: [("dough", 1), ("tomato", 2), ("garlic", 1), ("oregano", 1)], priceCents: 750
        ),
        Pizza(
            name: "funghi", ingredients: [("dough", 1), ("tomato", 1), ("mozzarella", 1), ("mushrooms", 1)],
            priceCents: 1000),
        Pizza(
            name: "diavola", ingredients: [("dough", 1), ("tomato", 1), ("mozzarella", 1), ("salami", 1)],
            priceCents: 1100),
        Pizza(
            name: "quattro_formaggi",
            ingredients: [("dough", 1), ("mozzarella", 2), ("gorgonzola", 1), ("parmesan", 1)],
            priceCents: 1250),
    ]

    package static func pizza(named name: String) -> Pizza? { pizzas.first { $0.name == name } }

    /// Every ingredient any pizza uses, in first-use order.
    package static let ingredients: [String] = {
        var names: [String] = []
        for pizza in pizzas { for (name, _) in pizza.ingredients where !names.contains(name) { names.append(name) } }
        return names
    }()

    package static let initialStock = 500

    /// Seeded customers: key, name, distance in km.
    package static let customers: [(key: String, name: String, distanceKm: Int)] = [
        ("alice", "Alice", 1), ("bob", "Bob", 2), ("carla", "Carla", 3), ("dario", "Dario", 4), ("elena", "Elena", 5),
    ]

    /// What `items` take from the warehouse, summed per ingredient, in menu order.
    package static func ingredients(for items: [OrderItem]) -> [(name: String, amount: Int)] {
        var totals: [String: Int] = [:]
        for item in items {
            for (name, amount) in pizza(named: item.pizza)?.ingredients ?? [] {
                totals[name, default: 0] += amount * item.quantity
            }
        }
        return ingredients.compactMap { name in totals[name].map { (name, $0) } }
    }

    /// Items, plus 1.00 per km of delivery, plus 10 % in the evening rush (18:00–21:59 UTC).
    package static func priceCents(items: [OrderItem], distanceKm: Int, wallMs: Int64) -> Int {
        let itemsCents = items.reduce(0) { $0 + (pizza(named: $1.pizza)?.priceCents ?? 0) * $1.quantity }
        let hour = Int((wallMs / 3_600_000) % 24)
        let rush = (18...21).contains(hour) ? itemsCents / 10 : 0
        return itemsCents + 100 * distanceKm + rush
    }

    /// `GET /v1/menu`.
    package static var json: JSONValue {
        .object(
            JSONObject([
                (
                    "pizzas",
                    .array(
                        pizzas.map { pizza in
                            .object(
                                JSONObject([
                                    ("name", .string(pizza.name)),
                                    (
                                        "ingredients",
                                        .object(
                                            JSONObject(pizza.ingredients.map { ($0.name, .integer(Int64($0.amount))) }))
                                    ),
                                    ("price", .number(Double(pizza.priceCents) / 100)),
                                ]))
                        })
                ),
                ("currency", .string("EUR")),
            ]))
    }
}

/// How the kitchen runs: how many cooks, ovens and riders, how long each step takes
/// in story minutes, and how long one story minute lasts (`--minute-ms`).
package struct KitchenSettings: Sendable {
    /// `evented`: a cook cooks, hands the pizza to an oven and takes the next order.
    /// `blocking`: one cook per order, waiting through baking and delivery.
    package enum Mode: String, Sendable { case evented, blocking }

    /// Whether the executable runs the pizzeria at all (`--pizzeria on`). Off by default:
    /// a gateway in front of someone's store does not seed demo keys into it.
    package var enabled = false
    package var mode = Mode.evented
    /// Milliseconds in one story minute. Default 1,000 (the demo); tests use 1–20.
    package var minuteMs: UInt64 = 1000
    package var cooks = 4
    package var ovens = 4
    package var riders = 4
    package var cookMinutes: UInt64 = 3
    package var bakeMinutes: UInt64 = 5
    /// Delivery takes this many minutes per km of the customer's distance (at least one km).
    package var deliveryMinutesPerKm: UInt64 = 2
    /// Store commands the kitchen keeps outstanding at once; more wait in its own queue.
    package var maxStoreCommands = 256
    /// Server-Sent Events streams open at once; more get 503.
    package var maxEventStreams = 1024

    package init() {}

    package func cookMs() -> UInt64 { cookMinutes * minuteMs }
    package func bakeMs() -> UInt64 { bakeMinutes * minuteMs }
    package func deliveryMs(distanceKm: Int) -> UInt64 { UInt64(max(1, distanceKm)) * deliveryMinutesPerKm * minuteMs }
    /// The time to delivery with no queue anywhere: the sum of the step durations.
    package func idealMs(distanceKm: Int) -> UInt64 { cookMs() + bakeMs() + deliveryMs(distanceKm: distanceKm) }
}
