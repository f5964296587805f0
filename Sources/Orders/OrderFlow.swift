/// The workflow's rules as pure functions, tested without a store or a loop. An order's
/// position is its persisted status plus, for the timed states, whether the step's
/// time is up (`stepDone`, derived from the persisted due time on resume).
///
/// ```
///  received ─check─▶ checked ─reserve─▶ reserved ─cook─▶ cooking ─oven─▶ baking ─rider─▶ delivering ─▶ delivered
///     │                 │  ▲                (timed)          (timed)           (timed)
///     └▶ rejected       ▼  │ restock
///                  waiting_for_stock
/// ```
package enum OrderFlow {
    /// The kitchen's limited resources.
    package enum Resource: String, CaseIterable, Sendable { case cook, oven, rider }

    /// What an order needs to move on.
    package enum Need: Equatable, Sendable {
        case checkCustomer
        case reserve
        case restock
        /// A free resource, then the timed step it starts.
        case resource(Resource, then: OrderStatus)
        case finish
        /// Its step's timer is running, or it is done.
        case nothing
    }

    package static func need(_ status: OrderStatus, stepDone: Bool) -> Need {
        switch status {
        case .received: .checkCustomer
        case .checked: .reserve
        case .waitingForStock: .restock
        case .reserved: .resource(.cook, then: .cooking)
        case .cooking: stepDone ? .resource(.oven, then: .baking) : .nothing
        case .baking: stepDone ? .resource(.rider, then: .delivering) : .nothing
        case .delivering: stepDone ? .finish : .nothing
        case .delivered, .rejected: .nothing
        }
    }

    /// What an order holds where it is. In the blocking kitchen the cook stays with the
    /// order from cooking until it is delivered; in the evented one a cook, an oven and
    /// a rider each serve only their own step.
    package static func holds(_ status: OrderStatus, stepDone: Bool, mode: KitchenSettings.Mode) -> Set<Resource> {
        var held: Set<Resource> = []
        switch status {
        case .cooking: if !stepDone { held.insert(.cook) }
        case .baking: if !stepDone { held.insert(.oven) }
        case .delivering: if !stepDone { held.insert(.rider) }
        default: break
        }
        if mode == .blocking, [.cooking, .baking, .delivering].contains(status) { held.insert(.cook) }
        return held
    }

    /// The transitions a compare-and-set may make; anything else is a bug.
    package static func allows(from: OrderStatus, to: OrderStatus) -> Bool {
        switch (from, to) {
        case (.received, .checked), (.received, .rejected),
            (.checked, .reserved), (.checked, .waitingForStock),
            (.waitingForStock, .reserved),
            (.reserved, .cooking), (.cooking, .baking), (.baking, .delivering), (.delivering, .delivered):
            true
        default: false
        }
    }

    /// The statuses an order delivered without waiting passes through, in order.
    package static let happyPath: [OrderStatus] = [
        .received, .checked, .reserved, .cooking, .baking, .delivering, .delivered,
    ]

    /// Whether `statuses` (an order's event stream) is a legal history: it starts at
    /// received, every step is allowed, and none repeats.
    package static func isValidHistory(_ statuses: [OrderStatus]) -> Bool {
        guard statuses.first == .received else { return false }
        for (from, to) in zip(statuses, statuses.dropFirst()) where !allows(from: from, to: to) { return false }
        return Set(statuses).count == statuses.count
    }
}
