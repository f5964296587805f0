internal import JSON
internal import Store
internal import RESP

/// Record operations over the store, each one script call (one round trip, atomic).
/// Used by the single-record routes, batch and scan alike. Completions run on a later
/// loop turn; a synchronous refusal (overload) is returned instead.
final class RecordService {
    enum WriteMode: String { case create, upsert, replace }

    /// One step of `operate`.
    struct Operation {
        let op: String
        let bin: String?
        let value: JSONValue?
    }

    static let maxBinsPerRecord = 256
    /// The most one record holds: its bins' names and JSON values together. Bounds
    /// what repeated PATCH or operate appends can grow a record to, and so every read.
    static let maxRecordBytes = 1 << 20
    let runner: ScriptRunner

    init(store: Store) {
        runner = ScriptRunner(store: store)
    }

    func read(
        _ key: RecordKey, bins: [String]?, timeoutMs: UInt64?,
        completion: @escaping (Result<Record?, GatewayError>) -> Void
    ) -> GatewayError? {
        let fields = bins?.map(BinName.field) ?? []
        return runner.run(RecordScripts.read, key: key.redisKey, arguments: fields, isWrite: false, timeoutMs: timeoutMs) {
            result in
            completion(
                result.flatMap { reply -> Result<Record?, GatewayError> in
                    guard case .array(let parts?) = reply, parts.count == 3, let generation = integer(parts[0]),
                        let ttl = integer(parts[1]), case .array(let flat?) = parts[2]
                    else { return .success(nil) }
                    return Result { () throws(GatewayError) in
                        Record(bins: try Record.bins(fromFlat: flat), generation: generation, ttl: ttl)
                    }
                })
        }
    }

    func write(
        _ key: RecordKey, bins: JSONObject, mode: WriteMode, expectedGeneration: Int?, ttl: Int?, timeoutMs: UInt64?,
        completion: @escaping (Result<(record: Record, created: Bool), GatewayError>) -> Void
    ) -> GatewayError? {
        var arguments = [mode == .replace ? "upsert" : mode.rawValue, expected(expectedGeneration, mode), ttl.map(String.init) ?? ""]
        var stored = JSONObject([])
        var size = 0
        for (name, value) in bins where value != .null {
            let field = BinName.field(name), json = JSONWriter.string(value)
            arguments.append(field)
            arguments.append(json)
            size += field.utf8.count + json.utf8.count
            stored.set(name, value)
        }
        guard size <= Self.maxRecordBytes else { return Self.recordTooLarge }
        return runner.run(RecordScripts.write, key: key.redisKey, arguments: arguments, isWrite: true, timeoutMs: timeoutMs) {
            result in
            completion(
                result.flatMap { reply in
                    guard case .array(let parts?) = reply, let status = integer(parts.first), parts.count >= 2,
                        let generation = integer(parts[1])
                    else { return .failure(.storeReplyError("unexpected reply to a write")) }
                    switch status {
                    case -409: return .failure(.conflict("the record already exists"))
                    case -412: return .failure(.preconditionFailed(current: generation))
                    default:
                        let ttl = parts.count > 2 ? integer(parts[2]) ?? -1 : -1
                        return .success((Record(bins: stored, generation: generation, ttl: ttl), status == 1))
                    }
                })
        }
    }

    /// `replace` needs an existing record: generation 0 never matches one.
    private func expected(_ generation: Int?, _ mode: WriteMode) -> String {
        if let generation { return String(generation) }
        return mode == .replace ? "exists" : ""
    }

    func patch(
        _ key: RecordKey, changes: JSONObject, expectedGeneration: Int?, ttl: Int?, timeoutMs: UInt64?,
        completion: @escaping (Result<Record, GatewayError>) -> Void
    ) -> GatewayError? {
        var arguments = [
            expectedGeneration.map(String.init) ?? "", ttl.map(String.init) ?? "", String(Self.maxBinsPerRecord),
            String(Self.maxRecordBytes),
        ]
        for (name, value) in changes {
            arguments.append(BinName.field(name))
            arguments.append(value == .null ? "" : JSONWriter.string(value))
        }
        return runner.run(RecordScripts.patch, key: key.redisKey, arguments: arguments, isWrite: true, timeoutMs: timeoutMs) {
            result in
            completion(
                result.flatMap { reply in
                    guard case .array(let parts?) = reply, let status = integer(parts.first), parts.count >= 2,
                        let generation = integer(parts[1])
                    else { return .failure(.storeReplyError("unexpected reply to a patch")) }
                    switch status {
                    case -404: return .failure(.notFound("no such record"))
                    case -412: return .failure(.preconditionFailed(current: generation))
                    case -413: return .failure(parts.count > 2 ? Self.recordTooLarge : Self.tooManyBins)
                    default:
                        guard parts.count == 4, case .array(let flat?) = parts[3] else {
                            return .failure(.storeReplyError("unexpected reply to a patch"))
                        }
                        return Result { () throws(GatewayError) in
                            Record(bins: try Record.bins(fromFlat: flat), generation: generation, ttl: integer(parts[2]) ?? -1)
                        }
                    }
                })
        }
    }

    func delete(
        _ key: RecordKey, expectedGeneration: Int?, timeoutMs: UInt64?,
        completion: @escaping (Result<Int, GatewayError>) -> Void
    ) -> GatewayError? {
        runner.run(
            RecordScripts.delete, key: key.redisKey, arguments: [expectedGeneration.map(String.init) ?? ""], isWrite: true,
            timeoutMs: timeoutMs
        ) { result in
            completion(
                result.flatMap { reply in
                    guard case .array(let parts?) = reply, let status = integer(parts.first), parts.count >= 2,
                        let generation = integer(parts[1])
                    else { return .failure(.storeReplyError("unexpected reply to a delete")) }
                    switch status {
                    case -404: return .failure(.notFound("no such record"))
                    case -412: return .failure(.preconditionFailed(current: generation))
                    default: return .success(generation)
                    }
                })
        }
    }

    func operate(
        _ key: RecordKey, operations: [Operation], ttl: Int?, timeoutMs: UInt64?,
        completion: @escaping (Result<(results: [JSONValue], generation: Int, ttl: Int), GatewayError>) -> Void
    ) -> GatewayError? {
        var arguments = [ttl.map(String.init) ?? "", String(Self.maxBinsPerRecord), String(Self.maxRecordBytes)]
        var isWrite = false
        for operation in operations {
            arguments.append(operation.op)
            arguments.append(operation.bin.map(BinName.field) ?? "")
            arguments.append(operation.value.map(JSONWriter.string) ?? "")
            if operation.op != "get" { isWrite = true }
        }
        return runner.run(RecordScripts.operate, key: key.redisKey, arguments: arguments, isWrite: isWrite, timeoutMs: timeoutMs) {
            result in
            completion(
                result.flatMap { reply in
                    guard case .array(let parts?) = reply, let status = integer(parts.first), parts.count >= 2 else {
                        return .failure(.storeReplyError("unexpected reply to operate"))
                    }
                    switch status {
                    case -404: return .failure(.notFound("no such record"))
                    case -400:
                        // The operation does not fit the bin's current value (type, range): a conflict with the record's state.
                        return .failure(
                            GatewayError(status: 409, code: "bin_type_mismatch", message: parts[1].string ?? "operation failed"))
                    case -413: return .failure(parts.count > 2 ? Self.recordTooLarge : Self.tooManyBins)
                    default:
                        guard parts.count == 4, let generation = integer(parts[1]), case .array(let raw?) = parts[3] else {
                            return .failure(.storeReplyError("unexpected reply to operate"))
                        }
                        return Result { () throws(GatewayError) in
                            let results = try zip(operations, raw).map { operation, value throws(GatewayError) in
                                try Self.operationResult(operation, value)
                            }
                            return (results, generation, integer(parts[2]) ?? -1)
                        }
                    }
                })
        }
    }

    private static func operationResult(_ operation: Operation, _ value: RESPValue) throws(GatewayError) -> JSONValue {
        switch value {
        case .array(let flat?): return .object(try Record.bins(fromFlat: flat))
        case .bulkString(let bytes?): return try Record.binValue(bytes, name: operation.bin ?? "")
        default: return .null
        }
    }

    static let recordTooLarge = GatewayError.tooLarge(
        "record_too_large", "a record holds at most \(maxRecordBytes) bytes of bins (names and JSON values)")
    static let tooManyBins = GatewayError.tooLarge(
        "too_many_bins", "a record holds at most \(maxBinsPerRecord) bins")
}
