internal import Gateway
internal import HTTP
internal import JSON
internal import RESP

/// The pizzeria's HTTP surface. Scopes for the auth layer to attach (by template):
/// `read` — GET /v1/menu, /v1/orders/{id}, /v1/orders/{id}/events, /v1/kitchen;
/// `write` — POST /v1/orders; `admin` — POST /v1/kitchen/restock.
/// Every input is checked before the store is touched, so a refused order changes nothing.
struct OrderRoutes {
    let kitchen: Kitchen
    let streams: OrderEventStreams

    static let maxItems = 10
    static let maxQuantity = 20
    static let maxAddressCharacters = 200
    static let maxRestockAmount = 100_000

    /// (method, template, scope), in registration order.
    static let table: [(String, String, String)] = [
        ("GET", "/v1/menu", "read"), ("POST", "/v1/orders", "write"), ("GET", "/v1/orders/{id}", "read"),
        ("GET", "/v1/orders/{id}/events", "read"), ("GET", "/v1/kitchen", "read"),
        ("POST", "/v1/kitchen/restock", "admin"),
    ]

    func register(on router: inout Router) {
        router.add("GET", "/v1/menu") { context in
            respond(context) { () throws(GatewayError) in
                try Self.noQuery(context)
                context.respond(json: Menu.json, status: 200)
                return nil
            }
        }
        router.add("POST", "/v1/orders") { context in respond(context) { () throws(GatewayError) in try place(context) }
        }
        router.add("GET", "/v1/orders/{id}") { context in
            respond(context) { () throws(GatewayError) in try show(context) }
        }
        router.add("GET", "/v1/orders/{id}/events") { context in
            respond(context) { () throws(GatewayError) in
                try Self.noQuery(context)
                return try streams.open(context, id: try Self.orderID(context))
            }
        }
        router.add("GET", "/v1/kitchen") { context in
            respond(context) { () throws(GatewayError) in try status(context) }
        }
        router.add("POST", "/v1/kitchen/restock") { context in
            respond(context) { () throws(GatewayError) in try restock(context) }
        }
    }

    // MARK: POST /v1/orders

    private func place(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        try Self.noQuery(context)
        let body = try RequestInput(context.request).jsonObject()
        if let unknown = body.firstKey(where: { !["customer", "items", "address"].contains($0) }) {
            throw GatewayError.badRequest("invalid_order", "unknown field '\(unknown.prefix(64))'")
        }
        guard case .string(let customer)? = body["customer"], Self.isToken(customer, maxLength: 64) else {
            throw GatewayError.badRequest(
                "invalid_customer", "customer must be a customer key: 1–64 of A–Z a–z 0–9 _ . : -")
        }
        guard case .string(let address)? = body["address"], !address.isEmpty,
            address.unicodeScalars.count <= Self.maxAddressCharacters,
            !address.unicodeScalars.contains(where: { $0.value < 0x20 })
        else {
            throw GatewayError.badRequest(
                "invalid_address",
                "address must be 1–\(Self.maxAddressCharacters) characters without control characters")
        }
        let items = try Self.items(body["items"])
        let idempotencyKey = try Self.idempotencyKey(context.request)
        let read = try RecordAccess.readCommand(
            namespace: OrderKeys.customerNamespace, set: OrderKeys.customerSet, key: customer)
        return kitchen.orders.runOnce(read, isWrite: false) { result in
            switch result.flatMap({ reply in
                Result { () throws(GatewayError) in try RecordAccess.bins(fromReadReply: reply) }
            }) {
            case .failure(let error): context.fail(error)
            case .success(nil):
                context.fail(
                    GatewayError(
                        status: 422, code: "unknown_customer",
                        message: "no customer '\(customer)' in pizzeria/customers"))
            case .success:
                claimID(context, idempotencyKey: idempotencyKey) { id, replayed in
                    create(context, id: id, replayed: replayed, customer: customer, address: address, items: items)
                }
            }
        }
    }

    /// A fresh id, or with an Idempotency-Key the id that key already names (SET NX GET:
    /// the first request to claim the key wins, atomically in the store).
    private func claimID(
        _ context: RouteContext, idempotencyKey: String?, then: @escaping (String, Bool) -> Void
    ) {
        let fresh = randomHex(8)
        guard let idempotencyKey else { return then(fresh, false) }
        let command = [
            "SET", OrderKeys.idempotency(idempotencyKey), fresh, "NX", "GET", "EX",
            String(OrderKeys.idempotencySeconds),
        ]
        let refusal = kitchen.orders.runOnce(command, isWrite: true) { result in
            switch result {
            case .failure(let error): context.fail(error)
            case .success(let reply):
                if let existing = reply.string { then(existing, true) } else { then(fresh, false) }
            }
        }
        if let refusal { context.fail(refusal) }
    }

    private func create(
        _ context: RouteContext, id: String, replayed: Bool, customer: String, address: String, items: [OrderItem]
    ) {
        let now = wallClockMs()
        let itemsText = JSONWriter.string(StoredOrder.itemsJSON(items))
        let fields = ["customer": customer, "address": address, "items": itemsText, "created_at": String(now)]
        let arguments = [String(now), kitchen.owner, "customer", customer, "address", address, "items", itemsText]
        let keys = [OrderKeys.order(id), OrderKeys.events(id)]
        kitchen.creating.insert(id)
        let finish = { (failure: GatewayError?) in
            kitchen.creating.remove(id)
            if let failure { context.fail(failure) }
        }
        // Into the active index first: an order that exists is always found again on restart.
        let refusal = kitchen.orders.runOnce(["SADD", OrderKeys.active, id], isWrite: true) { result in
            if case .failure(let error) = result { return finish(error) }
            let refusal = kitchen.orders.evalOnce(OrderScripts.create, keys: keys, arguments, isWrite: true) { result in
                switch result {
                case .failure(let error):
                    if error.inDoubt == true { kitchen.reconcile(id) }
                    finish(error)
                case .success(let reply) where reply.int == 1:
                    finish(nil)
                    kitchen.adopt(
                        LiveOrder(id: id, customer: customer, items: items, createdAtMs: now, status: .received))
                    let order = StoredOrder(id: id, fields: fields.merging(["status": "received"]) { $1 })!
                    let event = StoredOrder.Event(streamID: "", status: "received", atMs: now, detail: "")
                    accepted(context, id: id, order: order.json(events: [event]), replayed: replayed)
                case .success:
                    // It exists already: a retry, or a claim whose create crashed half-way earlier.
                    finish(nil)
                    kitchen.reconcile(id)
                    showStored(context, id: id) { accepted(context, id: id, order: $0, replayed: true) }
                }
            }
            if let refusal { finish(refusal) }
        }
        if let refusal { finish(refusal) }
    }

    private func accepted(_ context: RouteContext, id: String, order: JSONValue, replayed: Bool) {
        var response = jsonResponse(order, status: 202)
        response.headers.add(name: "Location", value: "/v1/orders/\(id)")
        if replayed { response.headers.add(name: "Idempotent-Replayed", value: "true") }
        context.responder.respond(response)
    }

    // MARK: GET /v1/orders/{id}, /v1/kitchen, POST /v1/kitchen/restock

    private func show(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        try Self.noQuery(context)
        let id = try Self.orderID(context)
        return readStored(context, id: id) { context.respond(json: $0, status: 200) }
    }

    /// `readStored` from inside a completion: a refusal is answered at once.
    private func showStored(_ context: RouteContext, id: String, then: @escaping (JSONValue) -> Void) {
        if let refusal = readStored(context, id: id, then: then) { context.fail(refusal) }
    }

    private func readStored(_ context: RouteContext, id: String, then: @escaping (JSONValue) -> Void) -> GatewayError? {
        let keys = [OrderKeys.order(id), OrderKeys.events(id)]
        return kitchen.orders.evalOnce(OrderScripts.read, keys: keys, [], isWrite: false) { result in
            switch result {
            case .failure(let error): context.fail(error)
            case .success(let reply):
                guard let parts = reply.array, parts.count == 2,
                    let order = StoredOrder(id: id, fields: parts[0].flatDictionary)
                else {
                    return context.fail(GatewayError(status: 404, code: "order_not_found", message: "no order \(id)"))
                }
                then(order.json(events: StoredOrder.events(fromXRange: parts[1])))
            }
        }
    }

    private func status(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        try Self.noQuery(context)
        return kitchen.orders.runOnce(["HGETALL", OrderKeys.stock], isWrite: false) { result in
            switch result {
            case .failure(let error): context.fail(error)
            case .success(let reply): context.respond(json: kitchen.snapshot(stock: reply.flatDictionary), status: 200)
            }
        }
    }

    private func restock(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        try Self.noQuery(context)
        let body = try RequestInput(context.request).jsonObject()
        guard body.keys == ["ingredients"], case .object(let ingredients)? = body["ingredients"], !ingredients.isEmpty
        else {
            throw GatewayError.badRequest(
                "invalid_restock", "the body is {\"ingredients\": {\"tomato\": 50, …}} with at least one ingredient")
        }
        var arguments: [String] = []
        for (name, value) in ingredients {
            guard Menu.ingredients.contains(name) else {
                throw GatewayError.badRequest(
                    "unknown_ingredient",
                    "no ingredient '\(name.prefix(64))' (known: \(Menu.ingredients.joined(separator: ", ")))")
            }
            guard let amount = value.exactInteger, (1...Int64(Self.maxRestockAmount)).contains(amount) else {
                throw GatewayError.badRequest(
                    "invalid_amount", "'\(name)' must be an integer 1…\(Self.maxRestockAmount)")
            }
            arguments += [name, String(amount)]
        }
        return kitchen.orders.evalOnce(OrderScripts.restock, keys: [OrderKeys.stock], arguments, isWrite: true) {
            result in
            switch result {
            case .failure(let error): context.fail(error)
            case .success(let reply):
                kitchen.didRestock()
                let stock = reply.flatDictionary
                let pairs = Menu.ingredients.map { ($0, JSONValue.integer(stock[$0].flatMap { Int64($0) } ?? 0)) }
                context.respond(json: .object(JSONObject([("stock", .object(JSONObject(pairs)))])), status: 200)
            }
        }
    }

    // MARK: input

    static func items(_ value: JSONValue?) throws(GatewayError) -> [OrderItem] {
        guard case .array(let raw)? = value, !raw.isEmpty, raw.count <= maxItems else {
            throw GatewayError.badRequest(
                "invalid_items", "items must be an array of 1–\(maxItems) {\"pizza\", \"quantity\"}")
        }
        var items: [OrderItem] = []
        for (index, entry) in raw.enumerated() {
            guard case .object(let fields) = entry, Set(fields.keys) == ["pizza", "quantity"],
                case .string(let pizza)? = fields["pizza"]
            else {
                throw GatewayError.badRequest(
                    "invalid_items", "items[\(index)] must be {\"pizza\": name, \"quantity\": n}")
            }
            guard Menu.pizza(named: pizza) != nil else {
                throw GatewayError.badRequest(
                    "unknown_pizza", "items[\(index)]: no pizza '\(pizza.prefix(64))' on the menu")
            }
            guard let quantity = fields["quantity"]?.exactInteger, (1...Int64(maxQuantity)).contains(quantity) else {
                throw GatewayError.badRequest(
                    "invalid_quantity", "items[\(index)]: quantity must be an integer 1…\(maxQuantity)")
            }
            items.append(OrderItem(pizza: pizza, quantity: Int(quantity)))
        }
        return items
    }

    static func idempotencyKey(_ request: HTTPRequest) throws(GatewayError) -> String? {
        let values = request.headers.values("Idempotency-Key")
        guard let key = values.first else { return nil }
        guard values.count == 1, isToken(key, maxLength: 128) else {
            throw GatewayError.badRequest(
                "invalid_idempotency_key", "Idempotency-Key must be 1–128 of A–Z a–z 0–9 _ . - :, given once")
        }
        return key
    }

    static func orderID(_ context: RouteContext) throws(GatewayError) -> String {
        let id = context.parameters["id"] ?? ""
        guard id.utf8.count == 16, id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw GatewayError.badRequest("invalid_order_id", "an order id is 16 lowercase hex digits")
        }
        return id
    }

    static func isToken(_ text: String, maxLength: Int) -> Bool {
        !text.isEmpty && text.utf8.count <= maxLength
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."),
                    UInt8(ascii: ":"):
                    true
                default: false
                }
            }
    }

    /// These routes take no query parameters.
    static func noQuery(_ context: RouteContext) throws(GatewayError) {
        try RequestInput(context.request).allowOnly([])
    }
}
