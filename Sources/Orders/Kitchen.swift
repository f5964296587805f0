package import EventLoop
internal import Gateway
internal import JSON
internal import RESP
package import Store

/// One unfinished order in memory: where it is, what it holds, and its step timer
/// (a deadline in the loop's one queue, never a timer of its own).
final class LiveOrder: DeadlineTarget {
    let id: String
    let customer: String
    let items: [OrderItem]
    let createdAtMs: Int64
    var status: OrderStatus
    var stepDone = false
    var distanceKm = 1
    /// Wall-clock ms when the current timed step is done (persisted as `step_due_at`).
    var dueAtMs: Int64 = 0
    var held: Set<OrderFlow.Resource> = []
    /// The restock count when its last reservation was tried (a restock during the try means try again).
    var stockEpoch = 0
    var deadlineHeapIndex = -1
    weak var kitchen: Kitchen?

    init(id: String, customer: String, items: [OrderItem], createdAtMs: Int64, status: OrderStatus) {
        self.id = id
        self.customer = customer
        self.items = items
        self.createdAtMs = createdAtMs
        self.status = status
    }

    func deadlineDidExpire() { kitchen?.stepDidFinish(self) }
}

/// The whole kitchen on the loop thread: cooks, ovens and riders as counted resources,
/// a FIFO per resource, the orders waiting for stock, and every live order's next step.
///
/// ```
///  POST /v1/orders ─adopt─▶ advance ─▶ check ─▶ reserve ─▶ [cook queue] ─▶ cooking ⏱
///        ⏱ fires ─▶ stepDidFinish ─▶ release what the step held ─▶ advance ─▶ [oven queue] …
///  each step: CAS script in the store ─reply─▶ apply in memory ─▶ notify SSE watchers
/// ```
/// Nothing waits: a step is a store command whose reply moves the order on, or a
/// deadline whose expiry does. A transition is applied in memory only after the store
/// accepted it, so what anyone reads was persisted first. Resources are taken in memory
/// before the step is persisted and given back if the compare-and-set is lost.
package final class Kitchen {
    package let settings: KitchenSettings
    let loop: Loop
    let orders: OrderStore
    /// This process's mark on the transitions it makes (tells its own retried CAS apart).
    let owner: String
    private var live: [String: LiveOrder] = [:]
    private var free: [OrderFlow.Resource: Int]
    private var queues: [OrderFlow.Resource: FIFO<LiveOrder>] = [:]
    private var waitingForStock: [LiveOrder] = []
    /// Ids a request has put in the active index but not yet created: a resume that runs
    /// meanwhile must not take them out of the index as "never created".
    var creating: Set<String> = []
    private var stockEpoch = 0
    private(set) var deliveredCount = 0
    private(set) var rejectedCount = 0
    package private(set) var resumedCount = 0
    /// Told after every persisted transition of an order (the SSE streams listen).
    var onTransition: ((String, OrderStatus) -> Void)?

    package init(loop: Loop, store: Store, settings: KitchenSettings) {
        self.settings = settings
        self.loop = loop
        orders = OrderStore(store: store, loop: loop, maxOutstanding: settings.maxStoreCommands)
        owner = randomHex(8)
        free = [.cook: settings.cooks, .oven: settings.ovens, .rider: settings.riders]
        for resource in OrderFlow.Resource.allCases { queues[resource] = FIFO() }
    }

    var liveCount: Int { live.count }
    func isLive(_ id: String) -> Bool { live[id] != nil }

    // MARK: start-up: seed, then resume every unfinished order

    /// Seeds the menu, the stock and the customers where absent, then resumes the orders
    /// in the active index. `completion` runs once every one of them is back in the kitchen.
    package func start(completion: @escaping () -> Void = {}) {
        orders.run(["SET", OrderKeys.menu, JSONWriter.string(Menu.json), "NX"]) { _ in }
        for ingredient in Menu.ingredients {
            orders.run(["HSETNX", OrderKeys.stock, ingredient, String(Menu.initialStock)]) { _ in }
        }
        for customer in Menu.customers {
            let bins = JSONObject([
                ("name", .string(customer.name)), ("distance_km", .integer(Int64(customer.distanceKm))),
            ])
            if let command = try? RecordAccess.createCommand(
                namespace: OrderKeys.customerNamespace, set: OrderKeys.customerSet, key: customer.key, bins: bins)
            {
                orders.run(command) { _ in }
            }
        }
        orders.run(["SMEMBERS", OrderKeys.active]) { [self] reply in
            let ids = (reply.array ?? []).compactMap(\.string)
            resume(ids, completion: completion)
        }
    }

    private func resume(_ ids: [String], completion: @escaping () -> Void) {
        guard !ids.isEmpty else { return completion() }
        let gather = Gather<LiveOrder>(count: ids.count) { [self] loaded in
            // Oldest first, so the rebuilt queues keep their order.
            for order in loaded.compactMap({ $0 }).sorted(by: { $0.createdAtMs < $1.createdAtMs }) { reinstate(order) }
            completion()
        }
        for (index, id) in ids.enumerated() { load(id) { gather.finish(index, $0) } }
    }

    /// Reads one order from the store for resuming; nil (and out of the index) when it
    /// is finished or was never created.
    private func load(_ id: String, completion: @escaping (LiveOrder?) -> Void) {
        orders.eval(OrderScripts.read, keys: [OrderKeys.order(id), OrderKeys.events(id)], []) { [self] reply in
            guard let fields = reply.array?.first?.flatDictionary, let order = StoredOrder(id: id, fields: fields),
                !order.status.isFinished
            else {
                if !creating.contains(id) { forget(id) }
                return completion(nil)
            }
            let live = LiveOrder(
                id: id, customer: order.customer, items: order.items, createdAtMs: order.createdAtMs,
                status: order.status)
            live.distanceKm = order.distanceKm
            live.dueAtMs = order.dueAtMs ?? 0
            live.stepDone = live.dueAtMs <= wallClockMs()
            live.kitchen = self
            completion(live)
        }
    }

    /// A resumed order takes back what its state holds (even past the counts: the state
    /// in the store says so), re-arms its timer for the time left, and moves on.
    private func reinstate(_ order: LiveOrder) {
        guard live[order.id] == nil else { return }
        live[order.id] = order
        resumedCount += 1
        order.held = OrderFlow.holds(order.status, stepDone: order.stepDone, mode: settings.mode)
        for resource in order.held { free[resource, default: 0] -= 1 }
        switch OrderFlow.need(order.status, stepDone: order.stepDone) {
        case .nothing: armTimer(order)
        case .restock: reserve(order)  // stock may have come in while the gateway was down
        default: advance(order)
        }
    }

    /// The loop's clock and the wall clock the events are stamped with are each cut to
    /// whole milliseconds at different phases: without this margin a step's timer could
    /// fire when the wall clock shows one millisecond less than the step's time.
    private static let clockTruncationMarginMs: UInt64 = 1

    private func armTimer(_ order: LiveOrder) {
        loop.updateTime()
        loop.deadlines.schedule(
            order, afterMs: UInt64(max(0, order.dueAtMs - wallClockMs())) + Self.clockTruncationMarginMs)
    }

    /// A new order (just created in the store), or one found unfinished later.
    func adopt(_ order: LiveOrder) {
        guard live[order.id] == nil else { return }
        order.kitchen = self
        live[order.id] = order
        advance(order)
    }

    /// After a request lost track of a write: if the order exists unfinished and this
    /// kitchen does not run it, it runs it now.
    func reconcile(_ id: String) {
        guard live[id] == nil else { return }
        load(id) { [self] order in if let order { reinstate(order) } }
    }

    // MARK: the workflow

    private func advance(_ order: LiveOrder) {
        switch OrderFlow.need(order.status, stepDone: order.stepDone) {
        case .checkCustomer: checkCustomer(order)
        case .reserve: reserve(order)
        case .restock: waitingForStock.append(order)
        case .resource(let resource, let next):
            if free[resource, default: 0] > 0, queues[resource]?.isEmpty ?? true {
                take(resource, for: order, starting: next)
            } else {
                queues[resource]?.append(order)
            }
        case .finish:
            transition(order, to: .delivered) { [self] in retire(order) }
        case .nothing:
            break
        }
    }

    private func checkCustomer(_ order: LiveOrder) {
        guard
            let command = try? RecordAccess.readCommand(
                namespace: OrderKeys.customerNamespace, set: OrderKeys.customerSet, key: order.customer)
        else { return reject(order, reason: "invalid customer key") }
        orders.run(command) { [self] reply in
            guard let bins = try? RecordAccess.bins(fromReadReply: reply) else {
                return reject(order, reason: "unknown customer '\(order.customer.prefix(64))'")
            }
            let distance = bins["distance_km"]?.exactInteger.map { Int(clamping: $0) } ?? 1
            order.distanceKm = min(max(distance, 0), 100)
            transition(order, to: .checked, fields: ["distance_km", String(order.distanceKm)]) { [self] in
                advance(order)
            }
        }
    }

    private func reject(_ order: LiveOrder, reason: String) {
        transition(order, to: .rejected, detail: reason, fields: ["reason", reason]) { [self] in retire(order) }
    }

    private func reserve(_ order: LiveOrder) {
        order.stockEpoch = stockEpoch
        var arguments = [order.id]
        for (name, amount) in Menu.ingredients(for: order.items) { arguments += [name, String(amount)] }
        orders.eval(OrderScripts.reserve, keys: [OrderKeys.stock, OrderKeys.reserved], arguments) { [self] reply in
            let parts = reply.array ?? []
            if parts.first?.int == 1 {
                return transition(order, to: .reserved) { [self] in advance(order) }
            }
            let missing = parts.dropFirst().compactMap(\.string).joined(separator: ",")
            let park = { [self] in
                if order.stockEpoch != stockEpoch { reserve(order) } else { waitingForStock.append(order) }
            }
            if order.status == .checked {
                transition(
                    order, to: .waitingForStock, detail: "short of \(missing)", fields: ["missing", missing], then: park
                )
            } else {
                park()
            }
        }
    }

    /// A restock landed in the store: every order waiting for stock tries again, in order.
    func didRestock() {
        stockEpoch += 1
        let waiting = waitingForStock
        waitingForStock = []
        for order in waiting { reserve(order) }
    }

    private func take(_ resource: OrderFlow.Resource, for order: LiveOrder, starting next: OrderStatus) {
        free[resource, default: 0] -= 1
        order.held.insert(resource)
        let now = wallClockMs()
        let duration: UInt64 =
            switch next {
            case .cooking: settings.cookMs()
            case .baking: settings.bakeMs()
            default: settings.deliveryMs(distanceKm: order.distanceKm)
            }
        var fields = ["step_started_at", String(now), "step_due_at", String(now + Int64(duration))]
        if next == .cooking {
            fields += [
                "price_cents", String(Menu.priceCents(items: order.items, distanceKm: order.distanceKm, wallMs: now)),
            ]
        }
        // The step's start in its event and its due time are the same instant.
        transition(order, to: next, at: now, fields: fields) { [self] in
            order.dueAtMs = now + Int64(duration)
            releaseUnneeded(order)
            loop.updateTime()  // the loop's cached clock lags within a busy turn; a step must last its time
            loop.deadlines.schedule(order, afterMs: duration + Self.clockTruncationMarginMs)
        }
    }

    /// The step's time is up: give back what it held, then move on.
    func stepDidFinish(_ order: LiveOrder) {
        guard live[order.id] === order else { return }
        order.stepDone = true
        releaseUnneeded(order)
        advance(order)
    }

    private func releaseUnneeded(_ order: LiveOrder) {
        let keep = OrderFlow.holds(order.status, stepDone: order.stepDone, mode: settings.mode)
        for resource in order.held.subtracting(keep) { release(resource, from: order) }
    }

    private func release(_ resource: OrderFlow.Resource, from order: LiveOrder) {
        guard order.held.remove(resource) != nil else { return }
        free[resource, default: 0] += 1
        while free[resource, default: 0] > 0, let next = queues[resource]?.popFirst() {
            guard case .resource(resource, let step) = OrderFlow.need(next.status, stepDone: next.stepDone) else {
                continue
            }
            take(resource, for: next, starting: step)
        }
    }

    /// Delivered or rejected: out of memory, out of the active index, its ledger entry gone.
    private func retire(_ order: LiveOrder) {
        if order.status == .delivered { deliveredCount += 1 } else { rejectedCount += 1 }
        drop(order)
        forget(order.id)
    }

    private func forget(_ id: String) {
        orders.run(["SREM", OrderKeys.active, id]) { _ in }
        orders.run(["HDEL", OrderKeys.reserved, id]) { _ in }
    }

    /// Out of the kitchen: what it held goes back, it leaves every queue.
    private func drop(_ order: LiveOrder) {
        live[order.id] = nil
        loop.deadlines.cancel(order)
        for resource in order.held { release(resource, from: order) }
        for resource in OrderFlow.Resource.allCases { queues[resource]?.remove(order) }
        waitingForStock.removeAll { $0 === order }
    }

    /// The compare-and-set on the order's status; `then` runs once the store has it.
    /// Lost (another process moved the order): the order leaves this kitchen.
    private func transition(
        _ order: LiveOrder, to next: OrderStatus, at: Int64 = wallClockMs(), detail: String = "", fields: [String] = [],
        then: @escaping () -> Void
    ) {
        assert(OrderFlow.allows(from: order.status, to: next), "\(order.status) → \(next)")
        let from = order.status
        let arguments = [from.rawValue, next.rawValue, String(at), owner, detail] + fields
        orders.eval(OrderScripts.transition, keys: [OrderKeys.order(order.id), OrderKeys.events(order.id)], arguments) {
            [self] reply in
            let parts = reply.array ?? []
            let applied =
                parts.first?.int == 1
                || (parts.count == 3 && parts[1].string == next.rawValue && parts[2].string == owner)
            guard applied, live[order.id] === order else { return drop(order) }
            order.status = next
            order.stepDone = false
            then()
            onTransition?(order.id, next)
        }
    }

    // MARK: what GET /v1/kitchen shows

    func snapshot(stock: [String: String]) -> JSONValue {
        func resource(_ name: OrderFlow.Resource, total: Int) -> JSONValue {
            let busy = live.values.reduce(0) { $0 + ($1.held.contains(name) ? 1 : 0) }
            return .object(
                JSONObject([
                    ("total", .integer(Int64(total))), ("busy", .integer(Int64(busy))),
                    ("free", .integer(Int64(max(0, total - busy)))),
                ]))
        }
        var counts: [OrderStatus: Int] = [:]
        for order in live.values { counts[order.status, default: 0] += 1 }
        var byStatus = OrderStatus.allCases.filter { !$0.isFinished }.map {
            ($0.rawValue, JSONValue.integer(Int64(counts[$0] ?? 0)))
        }
        byStatus += [("delivered", .integer(Int64(deliveredCount))), ("rejected", .integer(Int64(rejectedCount)))]
        let stockPairs = Menu.ingredients.map { ($0, JSONValue.integer(Int64(stock[$0].flatMap { Int64($0) } ?? 0))) }
        return .object(
            JSONObject([
                ("mode", .string(settings.mode.rawValue)), ("minute_ms", .integer(Int64(settings.minuteMs))),
                ("cooks", resource(.cook, total: settings.cooks)), ("ovens", resource(.oven, total: settings.ovens)),
                ("riders", resource(.rider, total: settings.riders)),
                (
                    "queues",
                    .object(
                        JSONObject([
                            ("cook", .integer(Int64(queues[.cook]?.count ?? 0))),
                            ("oven", .integer(Int64(queues[.oven]?.count ?? 0))),
                            ("rider", .integer(Int64(queues[.rider]?.count ?? 0))),
                            ("stock", .integer(Int64(waitingForStock.count))),
                            ("store", .integer(Int64(orders.queuedCount))),
                        ]))
                ),
                ("orders", .object(JSONObject(byStatus))),
                ("stock", .object(JSONObject(stockPairs))),
            ]))
    }
}

extension FIFO where Element == LiveOrder {
    /// Takes `order` out wherever it waits (rare: an order leaving early), keeping the others' order.
    mutating func remove(_ order: LiveOrder) {
        guard elements.contains(where: { $0 === order }) else { return }
        for other in removeAll() where other !== order { append(other) }
    }
}
