internal import HTTP
internal import JSON

extension Gateway {
    /// Operations one `POST /v1/batch` may hold by default (5,000 reads fit the default body limit).
    package static let defaultMaxBatchItems = 5000
}

/// `POST /v1/batch`: reads, writes and deletes on many records, pipelined: at most
/// `window` items are in the store at once, the next one sent as each completes, so a
/// batch of thousands never overflows the store's queues or holds more than a window
/// of commands. Ordered JSON by default, each item with its own status; with
/// `Accept: application/x-ndjson` each result streams out as it completes. A write
/// item's commit level is its `commit` field, else the batch's `?commit=`, else the
/// server's `--commit-level`.
struct BatchRoutes {
    let records: RecordService
    /// Operations per batch (`--max-batch-items`); past it: 413 `batch_too_large`.
    let maxItems: Int
    static let window = 256

    func register(on router: inout Router) {
        router.add("POST", "/v1/batch") { context in respond(context) { try batch(context) } }
    }

    private struct Item {
        let op: String
        let key: RecordKey
        let bins: JSONObject?
        let generation: Int?
        let commit: CommitLevel?
    }

    private func batch(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        let input = try RequestInput(context.request)
        try input.allowOnly(["timeout_ms", "commit"])
        let body = try input.jsonObject()
        if let unknown = body.firstKey(where: { $0 != "operations" }) {
            throw GatewayError.badRequest("invalid_body", "unknown field '\(unknown.prefix(64))'")
        }
        guard case .array(let raw)? = body["operations"], !raw.isEmpty else {
            throw GatewayError.badRequest("invalid_body", "operations must be a non-empty array")
        }
        guard raw.count <= maxItems else {
            throw GatewayError.tooLarge("batch_too_large", "at most \(maxItems) operations per batch")
        }
        let batchCommit = try input.commitLevel
        let items = try raw.enumerated().map { index, value throws(GatewayError) in
            try Self.item(value, index: index, batchCommit: batchCommit)
        }
        let timeoutMs = try input.timeoutMs
        let streaming = BatchMediaType.prefersStreaming(accept: context.request.headers["Accept"])
        let collector = BatchCollector(count: items.count, context: context, streaming: streaming)
        let window = BatchWindow(
            count: items.count, limit: Self.window, responder: context.responder, paced: streaming
        ) { index, done in
            let item = items[index]
            return run(item, timeoutMs: timeoutMs) { result in
                collector.finish(index, result)
                done()
            }
        } refused: { index, refusal in
            collector.finish(index, .failure(refusal))
        } skipped: { index in
            collector.skip(index)
        }
        window.pump()
        return nil
    }

    private func run(
        _ item: Item, timeoutMs: UInt64?, completion: @escaping (Result<JSONValue?, GatewayError>) -> Void
    ) -> GatewayError? {
        switch item.op {
        case "get":
            return records.read(item.key, bins: nil, timeoutMs: timeoutMs) { result in
                completion(
                    result.flatMap { record in
                        guard let record else { return .failure(.notFound("no such record")) }
                        return Result { () throws(GatewayError) in try record.record().json() }
                    })
            }
        case "put":
            return records.write(
                item.key, bins: .parsed(item.bins ?? JSONObject([])), mode: .upsert,
                expectedGeneration: item.generation,
                ttl: nil, timeoutMs: timeoutMs, commit: item.commit
            ) { completion($0.map { $0.json() }) }
        case "patch":
            return records.patch(
                item.key, changes: item.bins ?? JSONObject([]), expectedGeneration: item.generation, ttl: nil,
                timeoutMs: timeoutMs, commit: item.commit
            ) { completion($0.map { $0.json() }) }
        default:
            return records.delete(
                item.key, expectedGeneration: item.generation, timeoutMs: timeoutMs, commit: item.commit
            ) {
                completion($0.map { _ in nil })
            }
        }
    }

    private static func item(_ value: JSONValue, index: Int, batchCommit: CommitLevel?) throws(GatewayError) -> Item {
        guard case .object(let fields) = value, case .string(let op)? = fields["op"],
            ["get", "put", "patch", "delete"].contains(op)
        else {
            throw GatewayError.badRequest(
                "invalid_operation", "operations[\(index)] needs op get, put, patch or delete")
        }
        let allowed: Set<String> = ["op", "namespace", "set", "key", "bins", "generation", "commit"]
        if let unknown = fields.firstKey(where: { !allowed.contains($0) }) {
            throw GatewayError.badRequest(
                "invalid_operation", "operations[\(index)]: unknown field '\(unknown.prefix(64))'")
        }
        guard case .string(let namespace)? = fields["namespace"], case .string(let set)? = fields["set"],
            case .string(let key)? = fields["key"]
        else {
            throw GatewayError.badRequest(
                "invalid_operation", "operations[\(index)] needs namespace, set and key strings")
        }
        var generation: Int?
        if let value = fields["generation"] {
            guard let number = value.exactInteger, number > 0, number <= 9_007_199_254_740_991 else {
                throw GatewayError.badRequest(
                    "invalid_operation", "operations[\(index)]: generation must be a positive integer")
            }
            generation = Int(number)
        }
        var bins: JSONObject?
        if op == "put" || op == "patch" {
            guard case .object? = fields["bins"] else {
                throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: \(op) needs bins")
            }
            bins = try binsFromBody(JSONObject([("bins", fields["bins"]!)]), allowNull: true)
        } else if fields["bins"] != nil {
            throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: \(op) takes no bins")
        }
        var commit = batchCommit
        if let value = fields["commit"] {
            guard op != "get" else {
                throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: get takes no commit")
            }
            guard case .string(let text) = value else {
                throw GatewayError.badRequest(
                    "invalid_commit", "operations[\(index)].commit must be master or replicas")
            }
            commit = try CommitLevel.parse(text, field: "operations[\(index)].commit")
        }
        return Item(
            op: op, key: try RecordKey(namespace: namespace, set: set, key: key), bins: bins, generation: generation,
            commit: commit)
    }
}

/// Sends a batch's items with at most `limit` in flight: each completion sends the
/// next. Completions arrive on later loop turns, so `pump` never runs inside itself.
/// Once the client is gone nothing more is sent: the items not yet sent are skipped
/// (the commands in flight finish and their results are dropped). A `paced` (streamed)
/// batch also sends nothing while its connection's output is past layer 4's limit,
/// and goes on when it drains.
private final class BatchWindow {
    typealias Send = (_ index: Int, _ done: @escaping () -> Void) -> GatewayError?
    private let count: Int
    private let limit: Int
    private let responder: HTTPResponder
    private let paced: Bool
    private let send: Send
    private let refused: (Int, GatewayError) -> Void
    private let skipped: (Int) -> Void
    private var next = 0
    private var inFlight = 0
    private var waitsForOutput = false

    init(
        count: Int, limit: Int, responder: HTTPResponder, paced: Bool, send: @escaping Send,
        refused: @escaping (Int, GatewayError) -> Void, skipped: @escaping (Int) -> Void
    ) {
        self.count = count
        self.limit = limit
        self.responder = responder
        self.paced = paced
        self.send = send
        self.refused = refused
        self.skipped = skipped
    }

    func pump() {
        guard !waitsForOutput else { return }
        while next < count, inFlight < limit {
            guard responder.isConnected else { return skipRest() }
            if paced, responder.isOutputBackedUp {
                waitsForOutput = responder.whenOutputDrains { [self] in
                    waitsForOutput = false
                    pump()
                }
                return
            }
            let index = next
            next += 1
            inFlight += 1
            if let refusal = send(
                index,
                { [self] in
                    inFlight -= 1
                    pump()
                })
            {
                inFlight -= 1
                refused(index, refusal)
            }
        }
    }

    private func skipRest() {
        while next < count {
            skipped(next)
            next += 1
        }
    }
}

/// Gathers a batch's results: in order for the JSON answer, or streamed one NDJSON
/// line each as they complete.
private final class BatchCollector {
    private let gather: Gather<JSONValue>
    private let context: RouteContext

    init(count: Int, context: RouteContext, streaming: Bool) {
        self.context = context
        if streaming {
            context.responder.beginStreaming(
                status: 200, headers: HTTPHeaders([("Content-Type", "application/x-ndjson")]))
            gather = Gather(
                count: count,
                arrival: { _, line in
                    guard let line else { return }
                    var bytes: [UInt8] = []
                    JSONWriter.append(line, to: &bytes)
                    bytes.append(UInt8(ascii: "\n"))
                    context.responder.writeChunk(bytes)
                },
                completion: { _ in context.responder.end() })
        } else {
            gather = Gather(count: count) { lines in
                guard context.responder.isConnected else {
                    // Nobody to answer: this gives the request's layer-2 unit back.
                    return context.responder.respond(HTTPResponse(status: 204))
                }
                let body = JSONValue.object(JSONObject([("results", .array(lines.map { $0 ?? .null }))]))
                context.responder.respond(jsonResponse(body, status: 200))
            }
        }
    }

    /// An item never sent: its client is gone, so it has no result.
    func skip(_ index: Int) {
        gather.finish(index, nil)
    }

    func finish(_ index: Int, _ result: Result<JSONValue?, GatewayError>) {
        guard context.responder.isConnected else { return gather.finish(index, nil) }
        var pairs: [(String, JSONValue)] = [("index", .integer(Int64(index)))]
        switch result {
        case .success(let record):
            pairs.append(("status", .integer(record == nil ? 204 : 200)))
            if let record { pairs.append(("record", record)) }
        case .failure(let error):
            pairs.append(("status", .integer(Int64(error.status))))
            var errorPairs: [(String, JSONValue)] = [
                ("code", .string(error.code)), ("message", .string(error.message)),
            ]
            if let inDoubt = error.inDoubt { errorPairs.append(("in_doubt", .bool(inDoubt))) }
            pairs.append(("error", .object(JSONObject(errorPairs))))
        }
        gather.finish(index, .object(JSONObject(pairs)))
    }
}
