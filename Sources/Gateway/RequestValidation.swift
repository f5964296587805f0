package import HTTP
internal import JSON
internal import RESP

/// What the record routes check before a request reaches the store, callable without a
/// store or a socket, so the fuzz targets (Fuzz/, docs/fuzzing.md) can drive route
/// matching, percent-decoding, query parsing, key, bin and body validation with
/// arbitrary input. After routing it runs `RecordRequest.parse`, the very function the
/// record routes run; `FuzzTests` asserts the templates are the gateway's own.
package enum RequestValidation {
    package static let recordTemplates: [(method: String, template: String)] = {
        let path = "/v1/kv/{ns}/{set}/{key}"
        return [
            ("GET", path), ("POST", path), ("PUT", path), ("PATCH", path), ("DELETE", path),
            ("POST", path + "/operate"),
        ]
    }()

    nonisolated(unsafe) private static let router: Router = {
        var router = Router()
        for (method, template) in recordTemplates { router.add(method, template) { _ in } }
        return router
    }()

    /// The store operation `request` would become (described), or the error it is answered with.
    package static func validate(_ request: HTTPRequest) -> Result<String, GatewayError> {
        Result { () throws(GatewayError) in try plan(request) }
    }

    private static func plan(_ request: HTTPRequest) throws(GatewayError) -> String {
        let template: String
        let parameters: RouteParameters
        switch router.match(method: request.method, path: request.path) {
        case .found(let found, let bound, _):
            template = found
            parameters = bound
        case .methodNotAllowed:
            throw GatewayError(
                status: 405, code: "method_not_allowed", message: "method \(request.method) is not allowed here")
        case .notFound:
            throw GatewayError(status: 404, code: "not_found", message: "no route")
        }
        let method = request.method == "HEAD" ? "GET" : request.method
        let parsed = try RecordRequest.parse(
            method: method, operate: template.hasSuffix("/operate"), parameters: parameters, request: request)
        return "\(method) \(template) \(parsed.summary)"
    }

    /// For the fuzz targets: nil when the one-pass read of a write's body (`PlainBins`)
    /// agrees with the tree path on `body` (it reads only bodies the tree path accepts,
    /// into the same script arguments and response JSON), else what differs.
    package static func plainBinsDisagreement(body: [UInt8]) -> String? {
        guard let plain = PlainBins(body: body) else { return nil }
        let parsed: JSONObject
        do {
            guard case .object(let object) = try JSONParser.parse(body) else { return "plain, but not an object" }
            parsed = try binsFromBody(object, allowNull: true)
        } catch {
            return "plain, but the tree path refuses it: \(error)"
        }
        guard let key = try? RecordKey(namespace: "n", set: "s", key: "k") else { return "no key" }
        let fast = Result { () throws(GatewayError) in
            try RecordService.writeCall(key, bins: .plain(plain), mode: .upsert, expectedGeneration: nil, ttl: 5)
        }
        let tree = Result { () throws(GatewayError) in
            try RecordService.writeCall(key, bins: .parsed(parsed), mode: .upsert, expectedGeneration: nil, ttl: 5)
        }
        switch (fast, tree) {
        case (.success(let fast), .success(let tree)):
            if fast.blob != tree.blob { return "stored bins differ" }
            if fast.binsJSON != tree.binsJSON { return "response JSON differs" }
        case (.failure(let fast), .failure(let tree)):
            if fast.code != tree.code { return "refused as \(fast.code), not \(tree.code)" }
        default:
            return "only one path refuses it"
        }
        return nil
    }

    /// A record address as its Redis key, validated as the routes do.
    package static func redisKey(namespace: String, set: String, key: String) throws(GatewayError) -> String {
        try RecordKey(namespace: namespace, set: set, key: key).redisKey
    }

    /// The user key back from a Redis key of `namespace`/`set` (what scan does).
    package static func userKey(fromRedisKey redisKey: String, namespace: String, set: String) -> String? {
        RecordKey.userKey(fromRedisKey: redisKey, namespace: namespace, set: set)
    }

    /// The query parameters, decoded as the routes do.
    package static func query(of request: HTTPRequest) throws(GatewayError) -> [String: String] {
        try RequestInput(request).query
    }
}
