internal import HTTP
internal import Store
internal import RESP

/// `GET /v1/scan/{ns}/{set}?cursor=…&count=…`: one SCAN step over the set's records,
/// then the records it found, read in one pipelined burst. `cursor` is opaque; the
/// answer's `cursor` is null when the scan is complete. A page may hold fewer than
/// `count` records, or none, before the end (SCAN's contract).
struct ScanRoute {
    let store: Store
    let records: RecordService
    static let maxCount = 1000

    func register(on router: inout Router) {
        router.add("GET", "/v1/scan/{ns}/{set}") { context in respond(context) { try scan(context) } }
    }

    private func scan(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        let input = try RequestInput(context.request)
        try input.allowOnly(["cursor", "count", "timeout_ms"])
        let namespace = context.parameters["ns"] ?? "", set = context.parameters["set"] ?? ""
        _ = try RecordKey(namespace: namespace, set: set, key: "-")
        let cursor = input.query["cursor"] ?? "0"
        guard !cursor.isEmpty, cursor.utf8.count <= 20, cursor.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw GatewayError.badRequest("invalid_cursor", "cursor must be a value returned by a previous scan")
        }
        var count = 100
        if let text = input.query["count"] {
            guard let value = Int(text), (1...Self.maxCount).contains(value) else {
                throw GatewayError.badRequest("invalid_count", "count must be 1…\(Self.maxCount)")
            }
            count = value
        }
        let timeoutMs = try input.timeoutMs
        let pattern = RecordKey.scanPattern(namespace: namespace, set: set)
        let refusal = store.execute(
            ["SCAN", cursor, "MATCH", pattern, "COUNT", String(count)], idempotent: true, timeoutMs: timeoutMs
        ) { result in
            switch ScriptRunner.map(result, isWrite: false) {
            case .failure(let error):
                context.fail(error)
            case .success(let reply):
                guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].string,
                    case .array(let keys?) = parts[1]
                else { return context.fail(.storeReplyError("unexpected SCAN reply")) }
                let userKeys = keys.compactMap { $0.string.flatMap { RecordKey.userKey(fromRedisKey: $0, namespace: namespace, set: set) } }
                fetch(userKeys, namespace: namespace, set: set, next: next, timeoutMs: timeoutMs, context: context)
            }
        }
        return refusal.map { GatewayError($0, isWrite: false) }
    }

    private func fetch(
        _ keys: [String], namespace: String, set: String, next: String, timeoutMs: UInt64?, context: RouteContext
    ) {
        var found: [JSONValue?] = Array(repeating: nil, count: keys.count)
        var remaining = keys.count
        var failure: GatewayError?
        func finish() {
            if let failure { return context.fail(failure) }
            let body = JSONValue.object(
                JSONObject([
                    ("records", .array(found.compactMap { $0 })),
                    ("cursor", next == "0" ? .null : .string(next)),
                ]))
            context.responder.respond(jsonResponse(body, status: 200))
        }
        guard !keys.isEmpty else { return finish() }
        for (index, userKey) in keys.enumerated() {
            guard let key = try? RecordKey(namespace: namespace, set: set, key: userKey) else {
                remaining -= 1
                continue
            }
            let refusal = records.read(key, bins: nil, timeoutMs: timeoutMs) { result in
                switch result {
                case .success(let record): found[index] = record.map { $0.json(key: userKey) }
                case .failure(let error): failure = failure ?? error
                }
                remaining -= 1
                if remaining == 0 { finish() }
            }
            if let refusal {
                failure = failure ?? refusal
                remaining -= 1
            }
        }
        if remaining == 0 { finish() }  // every read was refused or skipped: nothing will call back
    }
}
