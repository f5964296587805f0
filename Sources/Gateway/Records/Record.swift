internal import JSON
internal import RESP

/// A record as the API shows it: bins, generation and TTL (-1: never expires).
struct Record {
    var bins: JSONObject
    var generation: Int
    var ttl: Int

    /// `{"bins":{…},"generation":N,"ttl":T}` (with `"key"` first when given).
    func json(key: String? = nil) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let key { pairs.append(("key", .string(key))) }
        pairs += [("bins", .object(bins)), ("generation", .integer(Int64(generation))), ("ttl", .integer(Int64(ttl)))]
        return .object(JSONObject(pairs))
    }

    /// Bins from a flat `field, value, …` reply, skipping `_gen`; each value is JSON text.
    static func bins(fromFlat reply: [RESPValue]) throws(GatewayError) -> JSONObject {
        var bins = JSONObject([])
        var index = 0
        while index + 1 < reply.count {
            defer { index += 2 }
            guard let field = reply[index].string, field.hasPrefix(BinName.fieldPrefix),
                let text = reply[index + 1].bytes
            else { continue }
            let name = String(field.dropFirst(BinName.fieldPrefix.count))
            bins.set(name, try binValue(text, name: name))
        }
        return bins
    }

    static func binValue(_ text: [UInt8], name: String) throws(GatewayError) -> JSONValue {
        do {
            return try JSONParser.parse(text)
        } catch {
            throw GatewayError.storeReplyError("bin '\(name)' does not hold JSON")
        }
    }
}

/// Reads a script reply's integer element (integers come back as RESP integers or,
/// from HGET, as bulk strings).
func integer(_ value: RESPValue?) -> Int? {
    switch value {
    case .integer(let number): Int(number)
    case .bulkString(let bytes?): Int(String(decoding: bytes, as: UTF8.self))
    default: nil
    }
}
