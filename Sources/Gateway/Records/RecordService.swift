internal import JSON
internal import RESP
internal import Store

/// Record operations over the store, each one round trip and atomic: a read is one
/// HGETALL (or HMGET), every write one script call (RecordScripts describes the layout).
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

    /// A record as a write left it: the bins sent (JSON text ready to copy), its
    /// generation and TTL, and whether the write created it.
    struct Written {
        /// The request's bins (a null means "no such bin").
        let bins: WriteBins
        /// `{"name":value,…}` of the stored bins.
        let binsJSON: ArraySlice<UInt8>
        let generation: Int
        let ttl: Int
        let created: Bool

        /// `{"bins":{…},"generation":N,"ttl":T}`, in one array reserved at about its size.
        func responseJSON() -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(
                JSONText.binsKey.count + binsJSON.count + JSONText.generationKey.count + JSONText.ttlKey.count + 41)
            out.append(contentsOf: JSONText.binsKey)
            out.append(contentsOf: binsJSON)
            out.append(contentsOf: JSONText.generationKey)
            JSONText.appendInteger(generation, to: &out)
            out.append(contentsOf: JSONText.ttlKey)
            JSONText.appendInteger(ttl, to: &out)
            out.append(UInt8(ascii: "}"))
            return out
        }

        init(bins: WriteBins, binsJSON: ArraySlice<UInt8>, generation: Int, ttl: Int, created: Bool) {
            self.bins = bins
            self.binsJSON = binsJSON
            self.generation = generation
            self.ttl = ttl
            self.created = created
        }

        /// From a replace transaction that needed no conversion: created when the generation is 1.
        init(bins: WriteBins, binsJSON: ArraySlice<UInt8>, outcome: ReplaceOutcome) {
            self.init(
                bins: bins, binsJSON: binsJSON, generation: outcome.generation,
                ttl: RecordExpiry.ttl(expiresAtMs: outcome.expiresAtMs), created: outcome.generation == 1)
        }

        /// From a replace transaction and the `convert` that followed it. The replace is
        /// done whatever `convert` answers: when it failed (or the record is gone again),
        /// the answer is the transaction's, and the next scripted write finishes the job.
        init(
            bins: WriteBins, binsJSON: ArraySlice<UInt8>, converted: Result<RESPValue, GatewayError>,
            outcome: ReplaceOutcome
        ) {
            let ttl = ScriptReply.decode(converted, operation: "a conversion") { _, _, ttl, _ in ttl }
            self.init(
                bins: bins, binsJSON: binsJSON, generation: outcome.generation,
                ttl: (try? ttl.get()) ?? RecordExpiry.ttl(expiresAtMs: outcome.expiresAtMs), created: false)
        }

        func json() -> JSONValue {
            var stored = JSONObject([])
            switch bins {
            case .parsed(let object):
                for (name, value) in object where value != .null { stored.set(name, value) }
            case .plain:
                // Written by the same rules as the parsed path: reads back as the bins sent.
                if case .object(let object)? = try? JSONParser.parse(binsJSON) { stored = object }
            }
            return Record(bins: stored, generation: generation, ttl: ttl).json()
        }
    }

    static let maxBinsPerRecord = 256
    /// The most one record holds: its bins' names and JSON values together. Bounds
    /// what repeated PATCH or operate appends can grow a record to, and so every read.
    static let maxRecordBytes = 1 << 20
    let store: Store
    let runner: ScriptRunner
    /// `--commit-level`: for writes that do not choose one.
    let defaultCommitLevel: CommitLevel

    init(store: Store, defaultCommitLevel: CommitLevel = .master) {
        self.store = store
        self.defaultCommitLevel = defaultCommitLevel
        runner = ScriptRunner(store: store)
    }

    private func waitsForReplicas(_ commit: CommitLevel?) -> Bool {
        (commit ?? defaultCommitLevel) == .replicas
    }

    // MARK: read

    /// One HGETALL (or HMGET of `_gen`, `_exp` and the asked bins): bins, generation
    /// and expiry are fields of one hash, so one plain command reads them from one
    /// instant, with no transaction and no script. A record in the old layout (no
    /// `_exp`) is read again with `readOldLayout`.
    func read(
        _ key: RecordKey, bins: [String]?, timeoutMs: UInt64?,
        completion: @escaping (Result<StoredRecord?, GatewayError>) -> Void
    ) -> GatewayError? {
        read(
            key, timeoutMs: timeoutMs,
            as: RecordReadWithCompletion(key: key, selected: Self.selectedFields(bins), completion))
    }

    /// `read` for a caller that is itself the `RecordRead` (the record route): the store
    /// command's completion holds only that object. An HGETALL is encoded with the key
    /// written in place (`RecordKey.command`).
    func read(_ key: RecordKey, timeoutMs: UInt64?, as read: RecordRead) -> GatewayError? {
        let timeout = timeoutMs ?? store.limits.commandTimeoutMs
        read.service = self
        read.timeoutMs = timeout
        let encoded: [UInt8]
        let routing: CommandRouting
        if let selected = read.selected {
            let redisKey = key.redisKeyBytes
            encoded = Self.plainRead(redisKey, selected: selected)
            routing = runner.routing(key: redisKey)
        } else {
            let command = key.command(head: Self.hgetallHead)
            encoded = command.encoded
            routing = runner.routing(key: command.keyBytes, in: encoded)
        }
        let command = StoreCommand(
            encoded: encoded, idempotent: true, timeoutMs: timeout, routing: routing, readOnly: true,
            keepsArrayReplyEncoded: true, completion: read.storeDidReply)
        return store.execute(command).map { GatewayError($0, isWrite: false) }
    }

    /// The asked bins' fields, each once.
    static func selectedFields(_ bins: [String]?) -> [[UInt8]]? {
        guard let bins else { return nil }
        var seen = Set<String>()
        return bins.filter { seen.insert($0).inserted }.map(BinName.fieldBytes)
    }

    /// `HGETALL key`, or `HMGET key _gen _exp <selected…>`.
    static func plainRead(_ redisKey: [UInt8], selected: [[UInt8]]?) -> [UInt8] {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(48 + redisKey.count + (selected?.count ?? 0) * 16)
        if let selected {
            RESPEncoder.appendArrayHeader(2 + StoredRecord.hmgetMetaFields.count + selected.count, to: &encoded)
            RESPEncoder.appendBulk("HMGET", to: &encoded)
            RESPEncoder.appendBulk(redisKey, to: &encoded)
            for field in StoredRecord.hmgetMetaFields { RESPEncoder.appendBulk(field, to: &encoded) }
            for field in selected { RESPEncoder.appendBulk(field, to: &encoded) }
        } else {
            encoded.append(contentsOf: Self.hgetallHead)
            RESPEncoder.appendBulk(redisKey, to: &encoded)
        }
        return encoded
    }

    /// A record written before `_exp` existed keeps its TTL only on the key: MULTI,
    /// HGETALL (or HMGET of `_gen`, `_b` and the asked bins), TTL, EXEC reads bins,
    /// generation and TTL from one instant. The transaction queues before it runs, so a
    /// cluster redirect refuses all of it (the store answers with the redirect and follows it).
    fileprivate func readOldLayout(
        _ redisKey: [UInt8], selected: [[UInt8]]?, timeoutMs: UInt64,
        completion: @escaping (Result<StoredRecord?, GatewayError>) -> Void
    ) -> GatewayError? {
        let command = StoreCommand(
            encoded: Self.oldLayoutRead(redisKey, selected: selected), idempotent: true, timeoutMs: timeoutMs,
            routing: runner.routing(key: redisKey), readOnly: true, leadingReplies: 3, keepsArrayReplyEncoded: true
        ) { result in
            completion(
                ScriptRunner.map(result, isWrite: false).flatMap { reply in
                    Result { () throws(GatewayError) in try StoredRecord(execReply: reply, selected: selected) }
                })
        }
        return store.execute(command).map { GatewayError($0, isWrite: false) }
    }

    /// The old layout's read transaction; its reply is EXEC's, after 3 leading replies.
    static func oldLayoutRead(_ redisKey: [UInt8], selected: [[UInt8]]?) -> [UInt8] {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(64 + 2 * redisKey.count + (selected?.count ?? 0) * 16)
        encoded.append(contentsOf: Self.multi)
        if let selected {
            RESPEncoder.appendArrayHeader(4 + selected.count, to: &encoded)
            RESPEncoder.appendBulk("HMGET", to: &encoded)
            RESPEncoder.appendBulk(redisKey, to: &encoded)
            RESPEncoder.appendBulk("_gen", to: &encoded)
            RESPEncoder.appendBulk(BinsBlob.field, to: &encoded)
            for field in selected { RESPEncoder.appendBulk(field, to: &encoded) }
        } else {
            encoded.append(contentsOf: Self.hgetallHead)
            RESPEncoder.appendBulk(redisKey, to: &encoded)
        }
        encoded.append(contentsOf: Self.ttlHead)
        RESPEncoder.appendBulk(redisKey, to: &encoded)
        encoded.append(contentsOf: Self.exec)
        return encoded
    }

    fileprivate static let multi: [UInt8] = Array("*1\r\n$5\r\nMULTI\r\n".utf8)
    private static let hgetallHead: [UInt8] = Array("*2\r\n$7\r\nHGETALL\r\n".utf8)
    private static let ttlHead: [UInt8] = Array("*2\r\n$3\r\nTTL\r\n".utf8)
    fileprivate static let exec: [UInt8] = Array("*1\r\n$4\r\nEXEC\r\n".utf8)
    fileprivate static let hincrbyHead: [UInt8] = Array("*4\r\n$7\r\nHINCRBY\r\n".utf8)
    fileprivate static let hsetHead: [UInt8] = Array("*4\r\n$4\r\nHSET\r\n".utf8)
    fileprivate static let generationPlusOne: [UInt8] = Array("$4\r\n_gen\r\n$1\r\n1\r\n".utf8)
    fileprivate static let expiryPlusZero: [UInt8] = Array("$4\r\n_exp\r\n$1\r\n0\r\n".utf8)

    // MARK: writes

    /// A create, a conditional write or one that sets the TTL runs the write script; an
    /// unconditional replace that keeps the TTL is a transaction (`replaceTransaction`),
    /// a third of the script's cost in the store, followed by `convert` only the first
    /// time it meets a record still in `b:` fields.
    func write(
        _ key: RecordKey, bins: WriteBins, mode: WriteMode, expectedGeneration: Int?, ttl: Int?, timeoutMs: UInt64?,
        commit: CommitLevel? = nil, completion: @escaping (Result<Written, GatewayError>) -> Void
    ) -> GatewayError? {
        let call: WriteCall
        do {
            call = try Self.writeCall(key, bins: bins, mode: mode, expectedGeneration: expectedGeneration, ttl: ttl)
        } catch {
            return error
        }
        let binsJSON = call.binsJSON
        let waits = waitsForReplicas(commit)
        guard call.isPlainReplace else {
            return runner.run(
                RecordScripts.write, key: call.redisKey, arguments: call.scriptArguments(), isWrite: true,
                timeoutMs: timeoutMs, waitsForReplicas: waits
            ) { result in
                completion(Self.written(result, bins: bins, binsJSON: binsJSON))
            }
        }
        let redisKey = call.redisKey
        let command = StoreCommand(
            encoded: call.replaceTransaction(), idempotent: false,
            timeoutMs: timeoutMs ?? store.limits.commandTimeoutMs,
            routing: runner.routing(key: redisKey), leadingReplies: Self.replaceLeadingReplies,
            waitsForReplicas: waits
        ) { [runner] result in
            let replaced = Self.replaced(ScriptRunner.map(result, isWrite: true))
            guard case .success(let outcome) = replaced, outcome.needsConversion else {
                completion(replaced.map { Written(bins: bins, binsJSON: binsJSON, outcome: $0) })
                return
            }
            var arguments = ScriptRunner.arguments(key: redisKey)
            arguments.append("")
            let refusal = runner.run(
                RecordScripts.convert, key: redisKey, arguments: arguments, isWrite: true, timeoutMs: timeoutMs,
                waitsForReplicas: waits
            ) { result in
                completion(.success(Written(bins: bins, binsJSON: binsJSON, converted: result, outcome: outcome)))
            }
            if let refusal {
                completion(
                    .success(Written(bins: bins, binsJSON: binsJSON, converted: .failure(refusal), outcome: outcome)))
            }
        }
        return store.execute(command).map { GatewayError($0, isWrite: true) }
    }

    /// What a write sends: the bins as `_b`'s text, and the request's conditions.
    struct WriteCall {
        /// The record's key, built once for the command and the routing.
        let redisKey: [UInt8]
        let blob: [UInt8]
        let binsJSON: ArraySlice<UInt8>
        let mode: WriteMode
        let expectedGeneration: Int?
        let ttl: Int?

        /// No condition and the TTL kept: `replaceTransaction` does it.
        var isPlainReplace: Bool { mode == .upsert && expectedGeneration == nil && ttl == nil }

        /// The write script's call: mode, expected generation, TTL, `_b`.
        func scriptArguments() -> RESPArguments {
            var arguments = ScriptRunner.writeArguments(
                RecordScripts.write, key: redisKey, scriptArguments: 4, reservingCapacity: 48 + blob.count)
            arguments.append(mode == .create ? RecordService.createBytes : RecordService.upsertBytes)
            if let expectedGeneration {
                arguments.append(expectedGeneration)
            } else {
                // `replace` needs an existing record: generation 0 never matches one.
                arguments.append(mode == .replace ? RecordService.existsBytes : [])
            }
            if let ttl { arguments.append(ttl) } else { arguments.append([]) }
            arguments.append(blob)
            return arguments
        }

        /// MULTI, HINCRBY key _gen 1, HSET key _b blob, HINCRBY key _exp 0, EXEC: the new
        /// generation (1: created), whether `_b` is new (on an existing record: it was in
        /// `b:` fields), and `_exp` (added as 0, never expires, to a new record).
        func replaceTransaction() -> [UInt8] {
            var encoded: [UInt8] = []
            encoded.reserveCapacity(160 + 3 * redisKey.count + blob.count)
            encoded.append(contentsOf: RecordService.multi)
            encoded.append(contentsOf: RecordService.hincrbyHead)
            RESPEncoder.appendBulk(redisKey, to: &encoded)
            encoded.append(contentsOf: RecordService.generationPlusOne)
            encoded.append(contentsOf: RecordService.hsetHead)
            RESPEncoder.appendBulk(redisKey, to: &encoded)
            RESPEncoder.appendBulk(BinsBlob.field, to: &encoded)
            RESPEncoder.appendBulk(blob, to: &encoded)
            encoded.append(contentsOf: RecordService.hincrbyHead)
            RESPEncoder.appendBulk(redisKey, to: &encoded)
            encoded.append(contentsOf: RecordService.expiryPlusZero)
            encoded.append(contentsOf: RecordService.exec)
            return encoded
        }
    }

    /// MULTI's OK and three QUEUED come before EXEC's reply.
    static let replaceLeadingReplies = 4

    /// EXEC's reply to `replaceTransaction`.
    struct ReplaceOutcome: Equatable {
        let generation: Int
        let expiresAtMs: Int64
        /// `_b` was new on an existing record: `convert` finishes the job.
        let needsConversion: Bool
    }

    static func replaced(_ result: Result<RESPValue, GatewayError>) -> Result<ReplaceOutcome, GatewayError> {
        result.flatMap { reply in
            // A command that failed inside the transaction answers its element with the error,
            // and the others still ran: WRONGTYPE fails all three, a `_gen` or `_exp` that is
            // not an integer (written behind the gateway's back) only its own.
            if case .array(let parts?) = reply, case .error(let message)? = parts.first(where: \.isError) {
                let others = parts.contains { !$0.isError }
                return .failure(
                    GatewayError.storeReplyError(
                        message
                            + (others ? " (the rest of the replace was applied: the record may be partly written)" : "")
                    ))
            }
            guard case .array(let parts?) = reply, parts.count == 3 else {
                return .failure(GatewayError.storeReplyError("unexpected reply to a replace"))
            }
            guard case .integer(let generation) = parts[0], case .integer(let added) = parts[1],
                case .integer(let expiresAt) = parts[2]
            else { return .failure(GatewayError.storeReplyError("unexpected reply to a replace")) }
            return .success(
                ReplaceOutcome(
                    generation: Int(generation), expiresAtMs: expiresAt, needsConversion: added == 1 && generation > 1))
        }
    }

    /// Builds a write's command parts; refuses a record over `maxRecordBytes`.
    static func writeCall(
        _ key: RecordKey, bins: WriteBins, mode: WriteMode, expectedGeneration: Int?, ttl: Int?
    ) throws(GatewayError) -> WriteCall {
        let blob: [UInt8]
        let binsJSON: ArraySlice<UInt8>
        let size: Int
        switch bins {
        case .parsed(let object): (blob, binsJSON, size) = blobOf(object)
        case .plain(let plain): (blob, binsJSON, size) = plain.blob()
        }
        guard size <= Self.maxRecordBytes else { throw Self.recordTooLarge }
        return WriteCall(
            redisKey: key.redisKeyBytes, blob: blob, binsJSON: binsJSON, mode: mode,
            expectedGeneration: expectedGeneration, ttl: ttl)
    }

    /// `_b`'s text for each non-null bin; the bins as the response's JSON and the record's size.
    private static func blobOf(_ bins: JSONObject) -> (blob: [UInt8], binsJSON: ArraySlice<UInt8>, size: Int) {
        var blob: [UInt8] = []
        blob.reserveCapacity(64 + bins.count * 32)
        var binsJSON: [UInt8] = []
        binsJSON.reserveCapacity(64 + bins.count * 32)
        binsJSON.append(UInt8(ascii: "{"))
        var value: [UInt8] = []
        value.reserveCapacity(64)
        var size = 0
        for (name, bin) in bins {
            if case .null = bin { continue }
            value.removeAll(keepingCapacity: true)
            JSONWriter.append(bin, to: &value)
            if binsJSON.count > 1 { binsJSON.append(UInt8(ascii: ",")) }
            var name = name
            name.withUTF8 { utf8 in
                value.withUnsafeBufferPointer { value in BinsBlob.appendEntry(name: utf8, value: value, to: &blob) }
                size += BinName.fieldPrefixBytes.count + utf8.count
                // A valid bin name needs no escape: copied between quotes as it is.
                if utf8.allSatisfy(BinName.isNameByte) {
                    binsJSON.append(UInt8(ascii: "\""))
                    binsJSON.append(contentsOf: utf8)
                    binsJSON.append(UInt8(ascii: "\""))
                } else {
                    JSONWriter.appendString(String(decoding: utf8, as: UTF8.self), to: &binsJSON)
                }
            }
            size += value.count
            binsJSON.append(UInt8(ascii: ":"))
            binsJSON.append(contentsOf: value)
        }
        binsJSON.append(UInt8(ascii: "}"))
        return (blob, binsJSON[...], size)
    }

    // The write script's mode and precondition words, as bytes (no `String` walk per write).
    fileprivate static let createBytes: [UInt8] = Array("create".utf8)
    fileprivate static let upsertBytes: [UInt8] = Array("upsert".utf8)
    fileprivate static let existsBytes: [UInt8] = Array("exists".utf8)

    /// The write script's reply as the written record.
    static func written(
        _ result: Result<RESPValue, GatewayError>, bins: WriteBins, binsJSON: ArraySlice<UInt8>
    ) -> Result<Written, GatewayError> {
        ScriptReply.decode(result, operation: "a write") { created, generation, ttl, _ in
            Written(bins: bins, binsJSON: binsJSON, generation: generation, ttl: ttl, created: created)
        }
    }

    func patch(
        _ key: RecordKey, changes: JSONObject, expectedGeneration: Int?, ttl: Int?, timeoutMs: UInt64?,
        commit: CommitLevel? = nil, completion: @escaping (Result<Record, GatewayError>) -> Void
    ) -> GatewayError? {
        let redisKey = key.redisKeyBytes
        var arguments = ScriptRunner.arguments(key: redisKey, reservingCapacity: 64 + changes.count * 32)
        arguments.append(expectedGeneration.map(String.init) ?? "")
        arguments.append(ttl.map(String.init) ?? "")
        arguments.append(Self.maxBinsPerRecord)
        arguments.append(Self.maxRecordBytes)
        for (name, value) in changes {
            arguments.append(BinName.fieldBytes(name))
            if value == .null { arguments.append("") } else { arguments.append { JSONWriter.append(value, to: &$0) } }
        }
        return runner.run(
            RecordScripts.patch, key: redisKey, arguments: arguments, isWrite: true, timeoutMs: timeoutMs,
            waitsForReplicas: waitsForReplicas(commit)
        ) { result in
            completion(
                ScriptReply.decode(result, operation: "a patch") { _, generation, ttl, payload throws(GatewayError) in
                    guard case .array(let flat?)? = payload else {
                        throw GatewayError.storeReplyError("unexpected reply to a patch")
                    }
                    return Record(bins: try Record.bins(fromFlat: flat), generation: generation, ttl: ttl)
                })
        }
    }

    func delete(
        _ key: RecordKey, expectedGeneration: Int?, timeoutMs: UInt64?, commit: CommitLevel? = nil,
        completion: @escaping (Result<Int, GatewayError>) -> Void
    ) -> GatewayError? {
        let redisKey = key.redisKeyBytes
        var arguments = ScriptRunner.arguments(key: redisKey)
        arguments.append(expectedGeneration.map(String.init) ?? "")
        return runner.run(
            RecordScripts.delete, key: redisKey, arguments: arguments, isWrite: true, timeoutMs: timeoutMs,
            waitsForReplicas: waitsForReplicas(commit)
        ) {
            result in
            completion(ScriptReply.decode(result, operation: "a delete") { _, generation, _, _ in generation })
        }
    }

    func operate(
        _ key: RecordKey, operations: [Operation], ttl: Int?, timeoutMs: UInt64?, commit: CommitLevel? = nil,
        completion: @escaping (Result<(results: [JSONValue], generation: Int, ttl: Int), GatewayError>) -> Void
    ) -> GatewayError? {
        let redisKey = key.redisKeyBytes
        var arguments = ScriptRunner.arguments(key: redisKey, reservingCapacity: 64 + operations.count * 32)
        arguments.append(ttl.map(String.init) ?? "")
        arguments.append(Self.maxBinsPerRecord)
        arguments.append(Self.maxRecordBytes)
        var isWrite = false
        for operation in operations {
            arguments.append(operation.op)
            arguments.append(operation.bin.map(BinName.fieldBytes) ?? [])
            if let value = operation.value {
                arguments.append { JSONWriter.append(value, to: &$0) }
            } else {
                arguments.append("")
            }
            if operation.op != "get" { isWrite = true }
        }
        return runner.run(
            RecordScripts.operate, key: redisKey, arguments: arguments, isWrite: isWrite, timeoutMs: timeoutMs,
            waitsForReplicas: isWrite && waitsForReplicas(commit)
        ) {
            result in
            completion(
                ScriptReply.decode(result, operation: "operate") { _, generation, ttl, payload throws(GatewayError) in
                    guard case .array(let raw?)? = payload else {
                        throw GatewayError.storeReplyError("unexpected reply to operate")
                    }
                    let results = try zip(operations, raw).map { operation, value throws(GatewayError) in
                        try Self.operationResult(operation, value)
                    }
                    return (results, generation, ttl)
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

/// One record read in flight, and the one object its store command's completion
/// holds: what the reply needs to become a record (the asked bins; the key and timeout
/// for re-reading a record in the old layout) and where the record goes (`finish`,
/// which a subclass overrides). Runs on the loop thread only.
class RecordRead {
    let key: RecordKey
    let selected: [[UInt8]]?
    /// Set by `RecordService.read` before the command exists (so always set when it replies).
    fileprivate var service: RecordService!
    fileprivate var timeoutMs: UInt64 = 0

    /// `selected`: the asked bins' fields (`RecordService.selectedFields`), nil for all.
    init(key: RecordKey, selected: [[UInt8]]?) {
        self.key = key
        self.selected = selected
    }

    /// Hears the record, nil when there is none, or the error: once.
    func finish(_ result: Result<StoredRecord?, GatewayError>) {}

    /// Hears the record when there is one (no `Result` built around it); by default `finish`.
    func found(_ record: StoredRecord) { finish(.success(record)) }

    fileprivate final func storeDidReply(_ result: Result<RESPValue, StoreError>) {
        let lookup = ScriptRunner.map(result, isWrite: false).flatMap { reply in
            Result { () throws(GatewayError) in
                try StoredRecord.lookup(plainReply: reply, selected: selected, nowMs: RecordExpiry.wallClockMs())
            }
        }
        switch lookup {
        case .success(.found(let record)): found(record)
        case .success(.missing): finish(.success(nil))
        case .success(.oldLayout):
            if let refusal = service.readOldLayout(
                key.redisKeyBytes, selected: selected, timeoutMs: timeoutMs, completion: { [self] in finish($0) })
            {
                finish(.failure(refusal))
            }
        case .failure(let error): finish(.failure(error))
        }
    }
}

/// A `RecordRead` that hands the record to a closure (batch, scan).
private final class RecordReadWithCompletion: RecordRead {
    private let completion: (Result<StoredRecord?, GatewayError>) -> Void

    init(key: RecordKey, selected: [[UInt8]]?, _ completion: @escaping (Result<StoredRecord?, GatewayError>) -> Void) {
        self.completion = completion
        super.init(key: key, selected: selected)
    }

    override func finish(_ result: Result<StoredRecord?, GatewayError>) { completion(result) }
}
