package import JSON
package import RESP

/// Records for modules Gateway can't see (the order workflow reads its customers as
/// ordinary records): the commands the records API itself sends, and their replies
/// decoded, so the key layout and the scripts stay in this module.
package enum RecordAccess {
    /// The EVAL that reads every bin of a record, as `GET /v1/kv/{ns}/{set}/{key}` does.
    package static func readCommand(namespace: String, set: String, key: String) throws(GatewayError) -> [String] {
        let key = try RecordKey(namespace: namespace, set: set, key: key)
        return ["EVAL", RecordScripts.read.source, "1", key.redisKey]
    }

    /// The bins from a reply to `readCommand`; nil when there is no such record.
    package static func bins(fromReadReply reply: RESPValue) throws(GatewayError) -> JSONObject? {
        guard case .array(let parts?) = reply, parts.count == 3, case .array(let flat?) = parts[2] else { return nil }
        return try Record.bins(fromFlat: flat)
    }

    /// The EVAL that creates a record with `bins` only if it does not exist (its reply
    /// is `{-409, gen}` when it did).
    package static func createCommand(namespace: String, set: String, key: String, bins: JSONObject)
        throws(GatewayError) -> [String]
    {
        let key = try RecordKey(namespace: namespace, set: set, key: key)
        var arguments = ["EVAL", RecordScripts.write.source, "1", key.redisKey, "create", "", ""]
        for (name, value) in bins {
            try BinName.validate(name)
            arguments.append(BinName.field(name))
            arguments.append(JSONWriter.string(value))
        }
        return arguments
    }
}
