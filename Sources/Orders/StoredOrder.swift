internal import Gateway
internal import JSON
internal import RESP

#if canImport(Glibc)
internal import Glibc
#endif

/// An order as the store holds it (the hash's fields) and as the API shows it, with its
/// timeline from the event stream.
struct StoredOrder {
    let id: String
    let status: OrderStatus
    let customer: String
    let address: String
    let items: [OrderItem]
    let createdAtMs: Int64
    let distanceKm: Int
    let dueAtMs: Int64?
    let priceCents: Int?
    let reason: String?
    let missing: String?

    init?(id: String, fields: [String: String]) {
        guard let status = fields["status"].flatMap(OrderStatus.init(rawValue:)), let customer = fields["customer"],
            let itemsText = fields["items"], let items = Self.items(fromJSON: itemsText)
        else { return nil }
        self.id = id
        self.status = status
        self.customer = customer
        self.items = items
        address = fields["address"] ?? ""
        createdAtMs = fields["created_at"].flatMap { Int64($0) } ?? 0
        distanceKm = fields["distance_km"].flatMap { Int($0) } ?? 1
        dueAtMs = fields["step_due_at"].flatMap { Int64($0) }
        priceCents = fields["price_cents"].flatMap { Int($0) }
        reason = fields["reason"]
        missing = fields["missing"]
    }

    static func itemsJSON(_ items: [OrderItem]) -> JSONValue {
        .array(
            items.map {
                .object(JSONObject([("pizza", .string($0.pizza)), ("quantity", .integer(Int64($0.quantity)))]))
            })
    }

    static func items(fromJSON text: String) -> [OrderItem]? {
        guard case .array(let values)? = try? JSONParser.parse(text) else { return nil }
        var items: [OrderItem] = []
        for value in values {
            guard case .object(let fields) = value, case .string(let pizza)? = fields["pizza"],
                let quantity = fields["quantity"]?.exactInteger
            else { return nil }
            items.append(OrderItem(pizza: pizza, quantity: Int(quantity)))
        }
        return items
    }

    /// One event of the stream: its id, status, when, and a note (why rejected, what is short).
    struct Event {
        let streamID: String
        let status: String
        let atMs: Int64
        let detail: String

        var json: JSONValue {
            var pairs: [(String, JSONValue)] = [("status", .string(status)), ("at", .string(isoTimestamp(atMs)))]
            if !detail.isEmpty { pairs.append(("detail", .string(detail))) }
            return .object(JSONObject(pairs))
        }
    }

    /// Entries of an XRANGE reply.
    static func events(fromXRange reply: RESPValue) -> [Event] {
        (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let streamID = parts[0].string else { return nil }
            let fields = parts[1].flatDictionary
            return Event(
                streamID: streamID, status: fields["status"] ?? "", atMs: fields["at"].flatMap { Int64($0) } ?? 0,
                detail: fields["detail"] ?? "")
        }
    }

    func json(events: [Event]) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("id", .string(id)), ("status", .string(status.rawValue)), ("customer", .string(customer)),
            ("items", Self.itemsJSON(items)), ("address", .string(address)),
            ("price", priceCents.map { .number(Double($0) / 100) } ?? .null),
            ("created_at", .string(isoTimestamp(createdAtMs))),
        ]
        if let reason { pairs.append(("reason", .string(reason))) }
        if status == .waitingForStock, let missing {
            pairs.append(("missing", .array(missing.split(separator: ",").map { .string(String($0)) })))
        }
        pairs.append(("timeline", .array(events.map(\.json))))
        return .object(JSONObject(pairs))
    }
}

/// Milliseconds since the Unix epoch (persisted times must survive a restart, so not the loop's monotonic clock).
func wallClockMs() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// `2026-12-02T00:45:12.345Z`.
func isoTimestamp(_ ms: Int64) -> String {
    var seconds = time_t(ms / 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ value: Int32, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
        + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
}

/// `count` random bytes as lowercase hex.
func randomHex(_ count: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    var text = ""
    for _ in 0..<count {
        let byte = UInt8.random(in: 0...255, using: &generator)
        text += (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }
    return text
}
