internal import HTTP
internal import JSON

/// The door in front of every route: CORS (preflight answers and response headers)
/// and API-key authorisation against `AccessPolicy`, before the handler runs. It only
/// exists when keys or CORS origins are configured. Refusals use `ErrorResponse`:
/// 401 (with `WWW-Authenticate: Bearer`) without a valid key, 403 outside its scopes.
final class AccessControl {
    enum Outcome: Equatable {
        /// Go on; `principal` is the key's id (nil when auth is off or the route is public).
        case allowed(principal: String?)
        case answered
    }

    private let configuration: SecurityConfiguration
    private let cors: CORSPolicy?

    init(_ configuration: SecurityConfiguration) {
        self.configuration = configuration
        cors = configuration.corsOrigins.isEmpty ? nil : CORSPolicy(origins: configuration.corsOrigins)
    }

    func admit(_ request: HTTPRequest, _ responder: HTTPResponder, _ match: Router.Match) -> Outcome {
        if let cors {
            let origin = request.headers["Origin"]
            responder.extraHeaders += cors.responseHeaders(origin: origin)
            if request.method == "OPTIONS", let origin, request.headers["Access-Control-Request-Method"] != nil,
                case .methodNotAllowed(let allow) = match
            {
                responder.route = "preflight"
                responder.respond(cors.preflight(origin: origin, allow: allow, requestID: request.id))
                return .answered
            }
        }
        guard configuration.authEnabled, case .found(let template, let parameters, _) = match else {
            return .allowed(principal: nil)
        }
        switch authorize(request, template: template, parameters: parameters) {
        case .success(let principal):
            return .allowed(principal: principal)
        case .failure(let refusal):
            responder.route = template
            var headers: [(String, String)] = []
            if refusal.status == 401 {
                let error = refusal.code == "invalid_api_key" ? ", error=\"invalid_token\"" : ""
                headers.append(("WWW-Authenticate", "Bearer realm=\"storegate\"\(error)"))
            }
            responder.respond(ErrorResponse.make(refusal, requestID: request.id, extraHeaders: headers))
            return .answered
        }
    }

    private func authorize(_ request: HTTPRequest, template: String, parameters: RouteParameters)
        -> Result<String?, GatewayError>
    {
        let requirement = configuration.policy.requirement(method: request.method, template: template)
        if case .operational(let name) = requirement, configuration.publicEndpoints.contains(name) {
            return .success(nil)
        }
        let key: APIKey
        switch authenticate(request) {
        case .success(let found): key = found
        case .failure(let error): return .failure(error)
        }
        switch requirement {
        case .operational:
            break
        case .admin:
            guard key.isAdmin else { return .failure(Self.forbidden("this API key has no admin scope")) }
        case .namespace(let scope, let source):
            let namespace: String
            switch source {
            case .parameter(let name): namespace = parameters[name] ?? ""
            case .fixed(let name): namespace = name
            }
            guard key.allows(scope, namespace: namespace) else {
                return .failure(Self.forbidden("this API key may not \(scope) namespace '\(namespace.prefix(64))'"))
            }
        case .batchItems:
            if let refusal = Self.checkBatch(request.body, key: key) { return .failure(refusal) }
        }
        return .success(key.id)
    }

    private func authenticate(_ request: HTTPRequest) -> Result<APIKey, GatewayError> {
        guard let value = request.headers["Authorization"] else {
            return .failure(
                GatewayError(
                    status: 401, code: "unauthorized", message: "an API key is required: Authorization: Bearer KEY"))
        }
        let invalid = GatewayError(status: 401, code: "invalid_api_key", message: "the API key is not valid")
        // "Bearer" (any case), one or more spaces, the token; exactly one such field.
        let bytes = value.utf8
        guard bytes.count > 7, zip(bytes.prefix(6), "bearer".utf8).allSatisfy({ asciiLowercased($0) == $1 }),
            bytes.dropFirst(6).first == UInt8(ascii: " "), request.headers.count(of: "Authorization") == 1
        else { return .failure(invalid) }
        let token = bytes.dropFirst(7).drop { $0 == UInt8(ascii: " ") }
        guard let key = configuration.keys.authenticate(token) else { return .failure(invalid) }
        return .success(key)
    }

    /// Every item of a batch must be allowed before any runs. A body that does not
    /// parse as a batch is left to the handler, which refuses it (400) without running
    /// anything.
    private static func checkBatch(_ body: [UInt8], key: APIKey) -> GatewayError? {
        guard case .object(let object)? = try? JSONParser.parse(body), case .array(let items)? = object["operations"]
        else { return nil }
        for (index, item) in items.enumerated() {
            guard case .object(let fields) = item, case .string(let namespace)? = fields["namespace"] else { continue }
            let scope: Scope = fields["op"] == .string("get") ? .read : .write
            if !key.allows(scope, namespace: namespace) {
                return forbidden(
                    "operations[\(index)]: this API key may not \(scope) namespace '\(namespace.prefix(64))'; nothing was done"
                )
            }
        }
        return nil
    }

    private static func forbidden(_ message: String) -> GatewayError {
        GatewayError(status: 403, code: "forbidden", message: message)
    }
}

/// `--cors-origins`: which browser origins may call the API. Preflights (`OPTIONS`
/// with `Origin` and `Access-Control-Request-Method`) get 204 with the path's methods;
/// every response says `Vary: Origin` and echoes an allowed `Origin`.
struct CORSPolicy {
    let origins: Set<String>
    let anyOrigin: Bool
    static let allowHeaders = "Authorization, Content-Type, If-Match, X-Request-Id, Accept"
    static let exposeHeaders = "ETag, Location, Retry-After, X-Request-Id, WWW-Authenticate"
    static let maxAgeSeconds = 600

    init(origins: [String]) {
        self.origins = Set(origins)
        anyOrigin = origins.contains("*")
    }

    func allows(_ origin: String) -> Bool { anyOrigin || origins.contains(origin) }

    func responseHeaders(origin: String?) -> [(String, String)] {
        guard let origin, allows(origin) else { return [("Vary", "Origin")] }
        return [
            ("Vary", "Origin"), ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", Self.exposeHeaders),
        ]
    }

    func preflight(origin: String, allow: [String], requestID: String) -> HTTPResponse {
        guard allows(origin) else {
            return ErrorResponse.make(
                GatewayError(status: 403, code: "cors_origin_not_allowed", message: "this origin may not call the API"),
                requestID: requestID)
        }
        return HTTPResponse(
            status: 204,
            headers: HTTPHeaders([
                ("Access-Control-Allow-Methods", (allow + ["OPTIONS"]).joined(separator: ", ")),
                ("Access-Control-Allow-Headers", Self.allowHeaders),
                ("Access-Control-Max-Age", String(Self.maxAgeSeconds)),
            ]))
    }
}

/// A configured CORS origin: `*`, or `scheme://host[:port]` with nothing after it.
package func isValidCORSOrigin(_ text: String) -> Bool {
    if text == "*" { return true }
    guard text.hasPrefix("http://") || text.hasPrefix("https://") else { return false }
    let rest = text.drop { $0 != "/" }.dropFirst(2)
    return !rest.isEmpty && !rest.contains("/") && !rest.contains(where: { $0 == " " || $0 == "," })
}
