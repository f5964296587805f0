internal import JSON
internal import HTTP

/// `/v1/kv/{ns}/{set}/{key}`: GET (and HEAD), POST (create only), PUT (create or
/// replace), PATCH (merge; null removes a bin), DELETE; `/operate` for several
/// operations at once. `If-Match` makes writes conditional on the generation, which
/// travels as the ETag. Each call is one atomic script in the store.
struct RecordRoutes {
    let records: RecordService

    func register(on router: inout Router) {
        let path = "/v1/kv/{ns}/{set}/{key}"
        router.add("GET", path) { context in respond(context) { try get(context) } }
        router.add("POST", path) { context in respond(context) { try write(context, mode: .create) } }
        router.add("PUT", path) { context in respond(context) { try write(context, mode: .upsert) } }
        router.add("PATCH", path) { context in respond(context) { try patch(context) } }
        router.add("DELETE", path) { context in respond(context) { try delete(context) } }
        router.add("POST", path + "/operate") { context in respond(context) { try operate(context) } }
    }

    static func key(_ context: RouteContext) throws(GatewayError) -> RecordKey {
        try RecordKey(
            namespace: context.parameters["ns"] ?? "", set: context.parameters["set"] ?? "",
            key: context.parameters["key"] ?? "")
    }

    private func get(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        let input = try RequestInput(context.request)
        try input.allowOnly(["bins", "timeout_ms"])
        let key = try Self.key(context)
        return records.read(key, bins: try input.bins, timeoutMs: try input.timeoutMs) { result in
            switch result {
            case .success(let record?):
                context.responder.respond(Self.recordResponse(record, status: 200))
            case .success(nil):
                context.fail(.notFound("no record \(key.namespace)/\(key.set)/\(key.key.prefix(64))"))
            case .failure(let error):
                context.fail(error)
            }
        }
    }

    private func write(_ context: RouteContext, mode: RecordService.WriteMode) throws(GatewayError) -> GatewayError? {
        let input = try RequestInput(context.request)
        try input.allowOnly(["ttl", "timeout_ms"])
        let key = try Self.key(context)
        let bins = try binsFromBody(try input.jsonObject(), allowNull: true)  // null = no such bin
        var mode = mode
        var expected: Int?
        switch try input.precondition {
        case .generation(let generation):
            guard mode != .create else {
                throw GatewayError.badRequest("invalid_if_match", "POST creates; If-Match belongs on PUT")
            }
            expected = generation
        case .exists:
            if mode == .upsert { mode = .replace }
        case nil:
            break
        }
        return records.write(
            key, bins: bins, mode: mode, expectedGeneration: expected, ttl: try input.ttl, timeoutMs: try input.timeoutMs
        ) { result in
            switch result {
            case .success(let outcome):
                var response = Self.recordResponse(outcome.record, status: outcome.created ? 201 : 200)
                if outcome.created { response.headers.add(name: "Location", value: String(context.request.path)) }
                context.responder.respond(response)
            case .failure(let error):
                context.fail(error)
            }
        }
    }

    private func patch(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        let input = try RequestInput(context.request)
        try input.allowOnly(["ttl", "timeout_ms"])
        let key = try Self.key(context)
        let changes = try binsFromBody(try input.jsonObject(), allowNull: true)
        return records.patch(
            key, changes: changes, expectedGeneration: try input.expectedGeneration, ttl: try input.ttl,
            timeoutMs: try input.timeoutMs
        ) { result in
            switch result {
            case .success(let record): context.responder.respond(Self.recordResponse(record, status: 200))
            case .failure(let error): context.fail(error)
            }
        }
    }

    private func delete(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        let input = try RequestInput(context.request)
        try input.allowOnly(["timeout_ms"])
        let key = try Self.key(context)
        return records.delete(key, expectedGeneration: try input.expectedGeneration, timeoutMs: try input.timeoutMs) {
            result in
            switch result {
            case .success: context.responder.respond(HTTPResponse(status: 204))
            case .failure(let error): context.fail(error)
            }
        }
    }

    private func operate(_ context: RouteContext) throws(GatewayError) -> GatewayError? {
        let input = try RequestInput(context.request)
        try input.allowOnly(["ttl", "timeout_ms"])
        let key = try Self.key(context)
        let operations = try OperateRequest.parse(try input.jsonObject())
        return records.operate(key, operations: operations, ttl: try input.ttl, timeoutMs: try input.timeoutMs) {
            result in
            switch result {
            case .success(let outcome):
                let body = JSONValue.object(
                    JSONObject([
                        ("results", .array(outcome.results)), ("generation", .integer(Int64(outcome.generation))),
                        ("ttl", .integer(Int64(outcome.ttl))),
                    ]))
                var response = jsonResponse(body, status: 200)
                if outcome.generation > 0 { response.headers.add(name: "ETag", value: "\"\(outcome.generation)\"") }
                context.responder.respond(response)
            case .failure(let error):
                context.fail(error)
            }
        }
    }

    static func recordResponse(_ record: Record, status: Int) -> HTTPResponse {
        var response = jsonResponse(record.json(), status: status)
        response.headers.add(name: "ETag", value: "\"\(record.generation)\"")
        return response
    }
}

/// Parses `{"operations": [{"op": …, "bin": …, "value": …}, …]}`.
enum OperateRequest {
    static let maxOperations = 64
    private static let needsBin: Set<String> = [
        "put", "incr", "append", "set_add", "set_remove", "list_append", "delete_bin",
    ]
    private static let needsValue: Set<String> = ["put", "incr", "append", "set_add", "set_remove", "list_append"]

    static func parse(_ body: JSONObject) throws(GatewayError) -> [RecordService.Operation] {
        if let unknown = body.keys.first(where: { $0 != "operations" }) {
            throw GatewayError.badRequest("invalid_body", "unknown field '\(unknown.prefix(64))'")
        }
        guard case .array(let items)? = body["operations"], !items.isEmpty else {
            throw GatewayError.badRequest("invalid_body", "operations must be a non-empty array")
        }
        guard items.count <= maxOperations else {
            throw GatewayError.tooLarge("too_many_operations", "at most \(maxOperations) operations per call")
        }
        return try items.enumerated().map { index, item throws(GatewayError) in try operation(item, index: index) }
    }

    private static func operation(_ item: JSONValue, index: Int) throws(GatewayError) -> RecordService.Operation {
        guard case .object(let fields) = item, case .string(let op)? = fields["op"] else {
            throw GatewayError.badRequest("invalid_operation", "operations[\(index)] needs an \"op\"")
        }
        guard op == "get" || op == "touch" || needsBin.contains(op) else {
            throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: unknown op '\(op.prefix(32))'")
        }
        if let unknown = fields.keys.first(where: { !["op", "bin", "value"].contains($0) }) {
            throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: unknown field '\(unknown.prefix(64))'")
        }
        var bin: String?
        if case .string(let name)? = fields["bin"] {
            try BinName.validate(name)
            bin = name
        } else if fields["bin"] != nil {
            throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: bin must be a string")
        }
        if needsBin.contains(op), bin == nil {
            throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: \(op) needs a bin")
        }
        let value = fields["value"]
        if needsValue.contains(op), value == nil || value == .null {
            throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: \(op) needs a value")
        }
        switch op {
        case "incr":
            guard let delta = value?.exactInteger, abs(delta) <= 9_007_199_254_740_991 else {
                throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: incr takes an integer value")
            }
        case "append":
            guard case .string? = value else {
                throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: append takes a string value")
            }
        case "get", "touch", "delete_bin":
            guard value == nil else {
                throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: \(op) takes no value")
            }
        default:
            break
        }
        if op == "touch", bin != nil {
            throw GatewayError.badRequest("invalid_operation", "operations[\(index)]: touch takes no bin")
        }
        let normalized = op == "incr" ? value?.exactInteger.map(JSONValue.integer) : value
        return RecordService.Operation(op: op, bin: bin, value: normalized)
    }
}
