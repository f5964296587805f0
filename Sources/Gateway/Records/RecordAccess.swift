package import JSON
package import RESP

/// Records for modules Gateway can't see (the order workflow reads its customers as
/// ordinary records): the commands the records API itself sends, and their replies
/// decoded, so the key layout and the scripts stay in this module.
package enum RecordAccess {
    /// The HGETALL that reads every bin of a record, as `GET /v1/kv/{ns}/{set}/{key}` does.
    package static func readCommand(namespace: String, set: String, key: String) throws(GatewayError) -> [String] {
        let key = try RecordKey(namespace: namespace, set: set, key: key)
        return ["HGETALL", key.redisKey]
    }

    /// The bins from a reply to `readCommand`; nil when there is no such record (no `_gen`).
    package static func bins(fromReadReply reply: RESPValue) throws(GatewayError) -> JSONObject? {
        guard case .array(let flat?) = reply,
            stride(from: 0, to: flat.count - 1, by: 2).contains(where: { flat[$0].string == "_gen" })
        else { return nil }
        return try Record.bins(fromFlat: flat)
    }

    /// The EVAL that creates a record with `bins` only if it does not exist (its reply
    /// is `{-409, gen}` when it did).
    package static func createCommand(namespace: String, set: String, key: String, bins: JSONObject)
        throws(GatewayError) -> [String]
    {
        let key = try RecordKey(namespace: namespace, set: set, key: key)
        var blob: [UInt8] = []
        for (name, value) in bins {
            try BinName.validate(name)
            BinsBlob.appendEntry(name: Array(name.utf8), value: Array(JSONWriter.string(value).utf8), to: &blob)
        }
        // Bin names and JSON text are UTF-8, and so is their concatenation.
        let arguments = [
            "EVAL", RecordScripts.write.source, "1", key.redisKey, "create", "", "",
            String(decoding: blob, as: UTF8.self),
        ]
        return arguments
    }
}
