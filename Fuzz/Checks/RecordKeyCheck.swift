internal import Gateway
internal import HTTP

/// FuzzRecordKey: URL percent-decoding, query parsing and record address validation.
/// Input: up to four parts separated by NUL — namespace, set, key, query. Properties:
/// decoding is the inverse of encoding; a valid address has exactly one hash tag, `{…}`
/// at the end of its Redis key, and the user key comes back from the Redis key; a path
/// routes to the same address as the parts validated directly; a parsed query
/// re-encodes to the same parameters.
package enum RecordKeyCheck {
    package static func check(_ input: [UInt8]) throws(FuzzFailure) {
        let raw = input.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
        let text = String(decoding: input, as: UTF8.self)

        // Percent-decoding on arbitrary text.
        let decoded = percentDecoded(text[...])
        // A byte search: `%` followed by a combining mark is one Character that is not "%".
        if !text.utf8.contains(UInt8(ascii: "%")) {
            try require(decoded == text, "text without % changed by decoding")
        }
        if let decoded { try require(percentDecoded(encode(decoded)[...]) == decoded, "decode(encode(x)) != x") }
        try require(percentDecoded(encode(text)[...]) == text, "decode(encode(text)) != text")

        let parts = (0..<4).map { $0 < raw.count ? String(decoding: raw[$0], as: UTF8.self) : "" }
        let (namespace, set, key, query) = (parts[0], parts[1], parts[2], parts[3])
        let direct = Result { () throws(GatewayError) in
            try RequestValidation.redisKey(namespace: namespace, set: set, key: key)
        }
        switch direct {
        case .success(let redisKey):
            let opening = redisKey.utf8.filter { $0 == UInt8(ascii: "{") }.count
            let closing = redisKey.utf8.filter { $0 == UInt8(ascii: "}") }.count
            // Bytes, not Characters: a key ending in a prepended mark (U+0600) joins the `}`.
            try require(
                opening == 1 && closing == 1 && redisKey.utf8.last == UInt8(ascii: "}"),
                "hash tag broken in \(redisKey.debugDescription)")
            try require(
                RequestValidation.userKey(fromRedisKey: redisKey, namespace: namespace, set: set) == key,
                "user key does not come back from \(redisKey.debugDescription)")
            try require(key.unicodeScalars.count <= 256 && key.utf8.count <= 1024, "key too long accepted")
        case .failure(let error):
            try require(error.status == 400, "address refused with \(error)")
        }

        // The same address through the router.
        let target = "/v1/kv/\(encode(namespace))/\(encode(set))/\(encode(key))"
        let routed = RequestValidation.validate(HTTPRequest(method: "GET", target: target))
        switch (direct, routed) {
        case (.success(let redisKey), .success(let plan)):
            try require(plan.contains(" \(redisKey) "), "routed to another key: \(plan)")
        case (.failure(let error), .failure(let routedError)):
            // An empty part does not match the template at all: 404.
            try require(routedError == error || routedError.status == 404, "routed error \(routedError) vs \(error)")
        default:
            throw FuzzFailure("direct \(direct) but routed \(routed)")
        }

        // Query parameters.
        if let parameters = try? RequestValidation.query(of: HTTPRequest(method: "GET", target: "/?" + query)) {
            let again = parameters.sorted { $0.key < $1.key }.map { "\(encode($0.key))=\(encode($0.value))" }
                .joined(separator: "&")
            let reparsed = try? RequestValidation.query(of: HTTPRequest(method: "GET", target: "/?" + again))
            try require(reparsed == parameters, "query re-encoded as \(again) parses differently")
        }
    }

    /// Every byte outside the unreserved set as %XX.
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%"
                out.unicodeScalars.append(UnicodeScalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(UnicodeScalar(hex[Int(byte & 15)]))
            }
        }
        return out
    }
}
