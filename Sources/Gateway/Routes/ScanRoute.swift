internal import HTTP
internal import JSON
internal import RESP
internal import Store

/// `GET /v1/scan/{ns}/{set}?cursor=…&count=…`: one SCAN step over the set's records,
/// then the records it found, read in one pipelined burst. `cursor` is opaque; the
/// answer's `cursor` is null when the scan is complete. A page may hold fewer than
/// `count` records, or none, before the end (SCAN's contract). In cluster mode the
/// scan walks every master in turn; a reshard during a scan may repeat or miss keys.
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
        let namespace = context.parameters["ns"] ?? ""
        let set = context.parameters["set"] ?? ""
        _ = try RecordKey(namespace: namespace, set: set, key: "-")
        let cursor = try Self.cursor(input.query["cursor"] ?? "0", cluster: store.isCluster)
        var count = 100
        if let text = input.query["count"] {
            guard let value = Int(text), (1...Self.maxCount).contains(value) else {
                throw GatewayError.badRequest("invalid_count", "count must be 1…\(Self.maxCount)")
            }
            count = value
        }
        let timeoutMs = try input.timeoutMs
        // Cluster: each master in turn, in the order of its lowest slot; the cursor names
        // the master by that slot, so a failover (same slots, new master) keeps the place.
        let anchors = store.isCluster ? store.scanAnchors : []
        if store.isCluster, anchors.isEmpty {
            throw GatewayError(
                status: 503, code: "cluster_unavailable", message: "the cluster topology is not known yet",
                retryAfterSeconds: 1)
        }
        let anchor = cursor.anchor ?? anchors.first
        let pattern = RecordKey.scanPattern(namespace: namespace, set: set)
        let refusal = store.execute(
            ["SCAN", cursor.node, "MATCH", pattern, "COUNT", String(count)], idempotent: true, timeoutMs: timeoutMs,
            slot: anchor
        ) { result in
            switch ScriptRunner.map(result, isWrite: false) {
            case .failure(let error):
                context.fail(error)
            case .success(let reply):
                guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].string,
                    case .array(let keys?) = parts[1]
                else { return context.fail(.storeReplyError("unexpected SCAN reply")) }
                let userKeys = keys.compactMap {
                    $0.string.flatMap { RecordKey.userKey(fromRedisKey: $0, namespace: namespace, set: set) }
                }
                var following: String? = next == "0" ? nil : next
                if let anchor {
                    if next != "0" {
                        following = Self.clusterCursor(anchor: anchor, node: next)
                        if following == nil { return context.fail(.storeReplyError("SCAN cursor out of range")) }
                    } else if let nextAnchor = anchors.first(where: { $0 > anchor }) {
                        following = Self.clusterCursor(anchor: nextAnchor, node: "0")
                    }
                }
                fetch(userKeys, namespace: namespace, set: set, next: following, timeoutMs: timeoutMs, context: context)
            }
        }
        return refusal.map { GatewayError($0, isWrite: false) }
    }

    /// A node's SCAN cursor and, in cluster mode, the slot naming the master it belongs
    /// to. The contract's cursor is 1–19 digits (every such number fits redis's 64-bit
    /// cursor), so a cluster cursor is the node's cursor followed by that slot in five
    /// digits ("0" alone is the start); node cursors stay far below 14 digits (they
    /// count hash-table buckets).
    static func cursor(_ text: String, cluster: Bool) throws(GatewayError) -> (anchor: Int?, node: String) {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw invalidCursor
        }
        guard cluster, text != "0" else { return (nil, text) }
        guard text.utf8.count >= 6, let slot = Int(text.suffix(5)), slot < 16384 else { throw invalidCursor }
        return (slot, String(text.dropLast(5)))
    }

    static func clusterCursor(anchor: Int, node: String) -> String? {
        guard node.utf8.count <= 14 else { return nil }
        let slot = String(anchor)
        return node + String(repeating: "0", count: 5 - slot.count) + slot
    }

    private static let invalidCursor = GatewayError.badRequest(
        "invalid_cursor", "cursor must be a value returned by a previous scan")

    private func fetch(
        _ keys: [String], namespace: String, set: String, next: String?, timeoutMs: UInt64?, context: RouteContext
    ) {
        var failure: GatewayError?
        func finish(_ found: [JSONValue?]) {
            if let failure { return context.fail(failure) }
            let body = JSONValue.object(
                JSONObject([
                    ("records", .array(found.compactMap { $0 })),
                    ("cursor", next.map { .string($0) } ?? .null),
                ]))
            context.responder.respond(jsonResponse(body, status: 200))
        }
        guard !keys.isEmpty else { return finish([]) }
        // Every read is issued before a refusal is gathered, so the answer never comes
        // from inside this loop while reads are still being started.
        let gather = Gather<JSONValue>(count: keys.count, completion: finish)
        var refused: [Int] = []
        for (index, userKey) in keys.enumerated() {
            guard let key = try? RecordKey(namespace: namespace, set: set, key: userKey) else {
                refused.append(index)
                continue
            }
            let refusal = records.read(key, bins: nil, timeoutMs: timeoutMs) { result in
                var found: JSONValue?
                switch result {
                case .success(let record):
                    do throws(GatewayError) {
                        found = try record?.record().json(key: userKey)
                    } catch {
                        failure = failure ?? error
                    }
                case .failure(let error): failure = failure ?? error
                }
                gather.finish(index, found)
            }
            if let refusal {
                failure = failure ?? refusal
                refused.append(index)
            }
        }
        for index in refused { gather.finish(index, nil) }
    }
}
