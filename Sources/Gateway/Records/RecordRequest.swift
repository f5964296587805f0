internal import HTTP
internal import JSON

/// A record route's request, parsed and validated with no store and no socket: the
/// store operation it becomes, or the error it is answered with. The record routes
/// run exactly this, and so does `RequestValidation` (the fuzz targets), so the two
/// cannot drift apart. Checks run in a fixed order (query, then address, then body,
/// then headers and per-request overrides), which decides the error when several apply.
struct RecordRequest {
    enum Operation {
        case read(bins: [String]?)
        case write(bins: WriteBins, mode: RecordService.WriteMode, expectedGeneration: Int?, ttl: Int?)
        case patch(changes: JSONObject, expectedGeneration: Int?, ttl: Int?)
        case delete(expectedGeneration: Int?)
        case operate([RecordService.Operation], ttl: Int?)
    }

    let key: RecordKey
    let operation: Operation
    let timeoutMs: UInt64?
    /// `?commit=`; nil for the server's default (reads have none).
    let commit: CommitLevel?

    /// `method` is the route's (GET for HEAD); `operate` marks `/operate`.
    static func parse(
        method: String, operate: Bool, parameters: RouteParameters, request: HTTPRequest
    ) throws(GatewayError) -> RecordRequest {
        // A plain read needs neither the query nor the body: no `RequestInput` (and no
        // copy of the request) for the commonest call.
        if method == "GET", !request.hasQuery {
            let key = try RecordKey(
                namespace: parameters["ns"] ?? "", set: parameters["set"] ?? "", key: parameters["key"] ?? "")
            return RecordRequest(key: key, operation: .read(bins: nil), timeoutMs: nil, commit: nil)
        }
        // Without a query string no parameter can be wrong or set: no `RequestInput` (and
        // no copy of the request); headers and body are read from the request itself.
        let parsedQuery = request.hasQuery ? try RequestInput(request) : nil
        let query = parsedQuery.flatMap { $0.query.isEmpty ? nil : $0 }
        if let query {
            switch (method, operate) {
            case ("GET", _): try query.allowOnly(["bins", "timeout_ms"])
            case ("DELETE", _): try query.allowOnly(["timeout_ms", "commit"])
            default: try query.allowOnly(["ttl", "timeout_ms", "commit"])
            }
        }
        let namespace = parameters["ns"] ?? ""
        let set = parameters["set"] ?? ""
        let userKey = parameters["key"] ?? ""
        let key = try RecordKey(namespace: namespace, set: set, key: userKey)
        let operation: Operation
        switch (method, operate) {
        case ("GET", _):
            operation = .read(bins: try query?.bins)
        case ("DELETE", _):
            operation = .delete(expectedGeneration: try RequestInput.expectedGeneration(of: request))
        case ("POST", true):
            let operations = try OperateRequest.parse(try RequestInput.jsonObject(of: request))
            operation = .operate(operations, ttl: try query?.ttl)
        case ("PATCH", _):
            let changes = try binsFromBody(try RequestInput.jsonObject(of: request), allowNull: true)
            operation = .patch(
                changes: changes, expectedGeneration: try RequestInput.expectedGeneration(of: request),
                ttl: try query?.ttl)
        default:
            let bins = try WriteBins.fromBody(request)  // null = no such bin
            var mode: RecordService.WriteMode = method == "POST" ? .create : .upsert
            var expected: Int?
            switch try RequestInput.precondition(of: request) {
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
            operation = .write(bins: bins, mode: mode, expectedGeneration: expected, ttl: try query?.ttl)
        }
        return RecordRequest(
            key: key, operation: operation, timeoutMs: try query?.timeoutMs, commit: try query?.commitLevel)
    }

    /// One line naming the operation and its arguments, for the fuzz targets.
    var summary: String {
        var detail: String
        switch operation {
        case .read(let bins):
            detail = "bins=\(bins ?? [])"
        case .delete(let expected):
            detail = "generation=\(String(describing: expected))"
        case .operate(let operations, let ttl):
            detail = "operations=\(operations.count) ttl=\(String(describing: ttl))"
        case .patch(let changes, let expected, let ttl):
            detail =
                "changes=\(changes.count) generation=\(String(describing: expected)) ttl=\(String(describing: ttl))"
        case .write(let bins, let mode, let expected, let ttl):
            detail =
                "bins=\(bins.count) mode=\(mode) generation=\(String(describing: expected)) ttl=\(String(describing: ttl))"
        }
        return
            "\(key.redisKey) \(detail) timeout=\(String(describing: timeoutMs)) commit=\(commit?.rawValue ?? "default")"
    }
}
