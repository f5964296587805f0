internal import HTTP
internal import JSON

/// `/v1/kv/{ns}/{set}/{key}`: GET (and HEAD), POST (create only), PUT (create or
/// replace), PATCH (merge; null removes a bin), DELETE; `/operate` for several
/// operations at once. `If-Match` makes writes conditional on the generation, which
/// travels as the ETag. Each call is one atomic script in the store.
struct RecordRoutes {
    let records: RecordService

    func register(on router: inout Router) {
        let path = "/v1/kv/{ns}/{set}/{key}"
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            router.add(method, path) { context in handle(context, method: method, operate: false) }
        }
        router.add("POST", path + "/operate") { context in handle(context, method: "POST", operate: true) }
    }

    /// A validation error or a synchronous store refusal becomes the response; otherwise
    /// the store's completion answers later.
    private func handle(_ context: RouteContext, method: String, operate: Bool) {
        do throws(GatewayError) {
            if let refusal = try run(context, method: method, operate: operate) { context.fail(refusal) }
        } catch {
            context.fail(error)
        }
    }

    /// Parses the request (`RecordRequest`, shared with the fuzz targets) and hands the
    /// operation to the store.
    private func run(_ context: RouteContext, method: String, operate: Bool) throws(GatewayError) -> GatewayError? {
        let request = try RecordRequest.parse(
            method: method, operate: operate, parameters: context.parameters, request: context.request)
        let key = request.key
        let timeoutMs = request.timeoutMs
        let commit = request.commit
        switch request.operation {
        case .read(let bins):
            let answer = RecordReadAnswer(
                key: request.key, selected: RecordService.selectedFields(bins), responder: context.responder)
            return records.read(answer.key, timeoutMs: timeoutMs, as: answer)
        case .write(let bins, let mode, let expected, let ttl):
            let responder = context.responder
            let requestID = context.request.id
            let target = context.request.target
            return records.write(
                key, bins: bins, mode: mode, expectedGeneration: expected, ttl: ttl, timeoutMs: timeoutMs,
                commit: commit
            ) { result in
                switch result {
                case .success(let written):
                    var response = Self.recordResponse(
                        body: written.responseJSON(), generation: written.generation,
                        status: written.created ? 201 : 200)
                    if written.created {
                        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
                        response.headers.add(name: "Location", value: String(path))
                    }
                    responder.respond(response)
                case .failure(let error):
                    responder.respond(ErrorResponse.make(error, requestID: requestID))
                }
            }
        case .patch(let changes, let expected, let ttl):
            return records.patch(
                key, changes: changes, expectedGeneration: expected, ttl: ttl, timeoutMs: timeoutMs, commit: commit
            ) { result in
                switch result {
                case .success(let record): context.responder.respond(Self.recordResponse(record, status: 200))
                case .failure(let error): context.fail(error)
                }
            }
        case .delete(let expected):
            return records.delete(key, expectedGeneration: expected, timeoutMs: timeoutMs, commit: commit) { result in
                switch result {
                case .success: context.responder.respond(HTTPResponse(status: 204))
                case .failure(let error): context.fail(error)
                }
            }
        case .operate(let operations, let ttl):
            return records.operate(key, operations: operations, ttl: ttl, timeoutMs: timeoutMs, commit: commit) {
                result in
                switch result {
                case .success(let outcome):
                    let body = JSONValue.object(
                        JSONObject([
                            ("results", .array(outcome.results)), ("generation", .integer(Int64(outcome.generation))),
                            ("ttl", .integer(Int64(outcome.ttl))),
                        ]))
                    var response = jsonResponse(body, status: 200)
                    if outcome.generation > 0 { response.entityTag = outcome.generation }
                    context.responder.respond(response)
                case .failure(let error):
                    context.fail(error)
                }
            }
        }
    }

    static func recordResponse(_ record: Record, status: Int) -> HTTPResponse {
        var body: [UInt8] = []
        JSONWriter.append(record.json(), to: &body)
        return recordResponse(body: body, generation: record.generation, status: status)
    }

    /// A record's JSON with its generation as the ETag (the serialiser writes it; the
    /// `Content-Type` block is shared by every JSON response).
    static func recordResponse(body: [UInt8], generation: Int, status: Int) -> HTTPResponse {
        HTTPResponse(status: status, headers: jsonHeaders, body: body, entityTag: generation)
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
        if let unknown = body.firstKey(where: { $0 != "operations" }) {
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
        if let unknown = fields.firstKey(where: { !["op", "bin", "value"].contains($0) }) {
            throw GatewayError.badRequest(
                "invalid_operation", "operations[\(index)]: unknown field '\(unknown.prefix(64))'")
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

/// A record route's read: answers the responder with the record's JSON, 404 or the error.
/// Holds the responder (which carries the request id), not the whole route context.
private final class RecordReadAnswer: RecordRead {
    private let responder: HTTPResponder

    init(key: RecordKey, selected: [[UInt8]]?, responder: HTTPResponder) {
        self.responder = responder
        super.init(key: key, selected: selected)
    }

    private var requestID: String { responder.requestID }

    override func found(_ record: StoredRecord) {
        do throws(GatewayError) {
            // The JSON goes straight into the connection's output when this response is first in line.
            let generation = record.generation
            try record.withJSON { body in
                responder.respond(status: 200, headers: jsonHeaders, entityTag: generation, lentBody: body)
            }
        } catch {
            responder.respond(ErrorResponse.make(error, requestID: requestID))
        }
    }

    override func finish(_ result: Result<StoredRecord?, GatewayError>) {
        switch result {
        case .success(let record?):
            found(record)
        case .success(nil):
            let error = GatewayError.notFound("no record \(key.namespace)/\(key.set)/\(key.key.prefix(64))")
            responder.respond(ErrorResponse.make(error, requestID: requestID))
        case .failure(let error):
            responder.respond(ErrorResponse.make(error, requestID: requestID))
        }
    }
}
