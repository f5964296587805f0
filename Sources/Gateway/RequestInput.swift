package import HTTP
package import JSON

/// What route handlers read from a request, validated: query parameters, the
/// `If-Match` generation, per-request overrides, and the JSON body. Every route family
/// reads its input through this, so the same mistake gets the same answer everywhere.
package struct RequestInput {
    package let request: HTTPRequest
    package let query: [String: String]

    static let maxTTLSeconds = 10 * 365 * 24 * 3600
    static let minTimeoutMs: UInt64 = 100
    static let maxTimeoutMs: UInt64 = 60_000

    package init(_ request: HTTPRequest) throws(GatewayError) {
        self.request = request
        var query: [String: String] = [:]
        // Found as a byte: a Character search over the whole target costs more than the rest of the parse.
        let target = request.target
        guard request.hasQuery, let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else {
            self.query = query
            return
        }
        for pair in target[target.utf8.index(after: mark)...].split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecoded(parts[0]),
                let value = parts.count > 1 ? percentDecoded(parts[1]) : ""
            else {
                throw GatewayError.badRequest(
                    "invalid_query", "query parameter '\(pair.prefix(64))' is not valid percent-encoding")
            }
            guard query[name] == nil else {
                throw GatewayError.badRequest("invalid_query", "query parameter '\(name)' given twice")
            }
            query[name] = value
        }
        self.query = query
    }

    /// Rejects parameters the route does not know.
    package func allowOnly(_ names: Set<String>) throws(GatewayError) {
        if let unknown = query.keys.first(where: { !names.contains($0) }) {
            throw GatewayError.badRequest("invalid_query", "unknown query parameter '\(unknown.prefix(64))'")
        }
    }

    /// `?ttl=N`: seconds (1…10 years), or -1 / 0 for no expiry; nil when absent.
    package var ttl: Int? {
        get throws(GatewayError) {
            guard let text = query["ttl"] else { return nil }
            guard let value = Int(text), (-1...Self.maxTTLSeconds).contains(value) else {
                throw GatewayError.badRequest(
                    "invalid_ttl", "ttl must be -1 (or 0) for none, or 1…\(Self.maxTTLSeconds) seconds")
            }
            return value <= 0 ? -1 : value
        }
    }

    /// `?timeout_ms=N`: the store deadline for this request (1…60000 ms).
    package var timeoutMs: UInt64? {
        get throws(GatewayError) {
            guard let text = query["timeout_ms"] else { return nil }
            guard let value = UInt64(text), (Self.minTimeoutMs...Self.maxTimeoutMs).contains(value) else {
                throw GatewayError.badRequest(
                    "invalid_timeout", "timeout_ms must be \(Self.minTimeoutMs)…\(Self.maxTimeoutMs)")
            }
            return value
        }
    }

    /// `?bins=a,b`: the bins to read; nil for all.
    var bins: [String]? {
        get throws(GatewayError) {
            guard let text = query["bins"] else { return nil }
            let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard names.count <= RecordService.maxBinsPerRecord else {
                throw GatewayError.badRequest(
                    "invalid_bin", "at most \(RecordService.maxBinsPerRecord) bins can be selected")
            }
            for name in names { try BinName.validate(name) }
            return names
        }
    }

    /// `If-Match: "N"` → N; `If-Match: *` → `.exists`; absent → nil.
    enum Precondition: Equatable {
        case generation(Int)
        case exists
    }

    var precondition: Precondition? {
        get throws(GatewayError) { try Self.precondition(of: request) }
    }

    /// `precondition` of a request with or without a query (no `RequestInput` needed).
    static func precondition(of request: HTTPRequest) throws(GatewayError) -> Precondition? {
        let values = request.headers.values("If-Match")
        guard let value = values.first else { return nil }
        guard values.count == 1 else { throw GatewayError.badRequest("invalid_if_match", "If-Match given twice") }
        let trimmed = value.trimmingCharacters(" \t")
        if trimmed == "*" { return .exists }
        let inner =
            trimmed.hasPrefix("\"") && trimmed.hasSuffix("\"") && trimmed.count >= 2
            ? String(trimmed.dropFirst().dropLast()) : trimmed
        guard let generation = Int(inner), generation > 0 else {
            throw GatewayError.badRequest("invalid_if_match", "If-Match must be a generation such as \"3\", or *")
        }
        return .generation(generation)
    }

    /// The generation `If-Match` names; `*` adds nothing where the record must exist anyway.
    var expectedGeneration: Int? {
        get throws(GatewayError) { try Self.expectedGeneration(of: request) }
    }

    static func expectedGeneration(of request: HTTPRequest) throws(GatewayError) -> Int? {
        if case .generation(let generation)? = try precondition(of: request) { return generation }
        return nil
    }

    /// The body as a JSON object; requires `Content-Type: application/json`.
    package func jsonObject() throws(GatewayError) -> JSONObject { try Self.jsonObject(of: request) }

    /// `jsonObject()` of a request with or without a query.
    static func jsonObject(of request: HTTPRequest) throws(GatewayError) -> JSONObject {
        try requireJSONContentType(request)
        let value: JSONValue
        do {
            value = try JSONParser.parse(request.body)
        } catch  where error.kind == .inputTooLarge {
            throw GatewayError.tooLarge("body_too_large", "a JSON body holds at most \(JSONLimits().maxBytes) bytes")
        } catch {
            throw GatewayError.badRequest("invalid_json", "request body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw GatewayError.badRequest("invalid_json", "request body must be a JSON object")
        }
        return object
    }
}

extension RequestInput {
    /// Refuses a body whose `Content-Type` is not `application/json`.
    static func requireJSONContentType(_ request: HTTPRequest) throws(GatewayError) {
        // The common exact value is compared in place; anything else is read and normalised.
        if !request.headers.firstValue(of: "Content-Type", is: "application/json") {
            let header = request.headers["Content-Type"]
            let contentType = header?.split(separator: ";").first.map {
                String($0).trimmingCharacters(" \t").lowercased()
            }
            guard contentType == "application/json" else { throw GatewayError.unsupportedMediaType }
        }
    }
}

/// Reads `{"bins": {…}}` (only that field) into validated bins.
func binsFromBody(_ object: JSONObject, allowNull: Bool) throws(GatewayError) -> JSONObject {
    if let unknown = object.firstKey(where: { $0 != "bins" }) {
        throw GatewayError.badRequest(
            "invalid_body", "unknown field '\(unknown.prefix(64))': the body is {\"bins\": {…}}")
    }
    guard case .object(let bins)? = object["bins"] else {
        throw GatewayError.badRequest("invalid_body", "the body must be {\"bins\": {…}} with an object of bins")
    }
    guard bins.count <= RecordService.maxBinsPerRecord else { throw RecordService.tooManyBins }
    for (name, value) in bins {
        try BinName.validate(name)
        if case .null = value, !allowNull {
            throw GatewayError.badRequest(
                "invalid_body", "bin '\(name)' is null: omit it instead (PATCH removes bins with null)")
        }
    }
    return bins
}

extension String {
    func trimmingCharacters(_ set: String) -> String {
        let characters = Set(set)
        let start = firstIndex { !characters.contains($0) } ?? endIndex
        let end = lastIndex { !characters.contains($0) }.map { index(after: $0) } ?? start
        return start < end ? String(self[start..<end]) : ""
    }
}
