internal import RESP
internal import Store

/// Runs a record script by its digest (EVALSHA); when the store has not cached it
/// (NOSCRIPT: nothing ran), sends the source once with EVAL, which caches it. The
/// arguments after the script (`1`, the key, the script's own) are encoded once, as
/// bytes, and serve both tries.
struct ScriptRunner {
    let store: Store

    /// The arguments that follow the script: `1` (one key) and `key`; append the script's own.
    static func arguments(key: [UInt8], reservingCapacity capacity: Int = 64) -> RESPArguments {
        var arguments = RESPArguments(reservingCapacity: capacity + key.count + 16)
        arguments.append(1)
        arguments.append(key)
        return arguments
    }

    /// `arguments(key:)` written after `script`'s EVALSHA head, for a write whose script
    /// takes `scriptArguments` of its own: once they are appended, the buffer is the command
    /// `run` sends as it is.
    static func writeArguments(
        _ script: RecordScript, key: [UInt8], scriptArguments: Int, reservingCapacity capacity: Int
    ) -> RESPArguments {
        var arguments = RESPArguments(
            command: script.evalshaHead, headCount: 2, argumentCount: 2 + scriptArguments,
            reservingCapacity: capacity + key.count + 16)
        arguments.append(1)
        arguments.append(key)
        return arguments
    }

    /// Where a command on `key` goes: its slot in a cluster; anywhere on one node.
    func routing(key: [UInt8]) -> CommandRouting {
        store.isCluster ? .slot(HashSlot.of(key)) : .keyless
    }

    /// `routing(key:)` for a key that lies at `range` in `bytes` (an encoded command).
    func routing(key range: Range<Int>, in bytes: [UInt8]) -> CommandRouting {
        guard store.isCluster else { return .keyless }
        return .slot(bytes.withUnsafeBytes { HashSlot.of(UnsafeRawBufferPointer(rebasing: $0[range])) })
    }

    /// Nil when accepted (the completion runs later), else the synchronous refusal.
    /// `waitsForReplicas`: acknowledged only once the master's replicas have the write (`ReplicaWait`).
    func run(
        _ script: RecordScript, key: [UInt8], arguments: RESPArguments, isWrite: Bool, timeoutMs: UInt64?,
        waitsForReplicas: Bool = false, completion: @escaping (Result<RESPValue, GatewayError>) -> Void
    ) -> GatewayError? {
        // Replicas answer only read-only commands: the _RO forms (Redis 7) when reads may go there.
        let readOnly = !isWrite && store.isCluster && store.limits.readFromReplicas
        let routing = routing(key: key)
        let timeout = timeoutMs ?? store.limits.commandTimeoutMs
        var encoded: [UInt8] = []
        if arguments.announcedCount != nil {
            // Built by `writeArguments`: already the EVALSHA command.
            precondition(isWrite && arguments.isCompleteCommand, "a write's arguments as announced")
            encoded = arguments.encoded
        } else {
            encoded.reserveCapacity(arguments.encoded.count + 64)
            RESPEncoder.appendCommand(
                head: readOnly ? script.evalshaReadOnlyHead : script.evalshaHead, headCount: 2, arguments, to: &encoded)
        }
        let first = StoreCommand(
            encoded: encoded, idempotent: !isWrite, timeoutMs: timeout, routing: routing, readOnly: readOnly,
            waitsForReplicas: waitsForReplicas
        ) { result in
            switch result {
            case .success(.error(let message)) where message.hasPrefix("NOSCRIPT"):
                var source: [UInt8] = []
                RESPEncoder.appendCommand(head: [readOnly ? "EVAL_RO" : "EVAL", script.source], arguments, to: &source)
                let retry = store.execute(
                    StoreCommand(
                        encoded: source, idempotent: !isWrite, timeoutMs: timeout, routing: routing, readOnly: readOnly,
                        waitsForReplicas: waitsForReplicas
                    ) {
                        completion(Self.map($0, isWrite: isWrite))
                    })
                if let retry { completion(.failure(GatewayError(retry, isWrite: isWrite))) }
            default:
                completion(Self.map(result, isWrite: isWrite))
            }
        }
        return store.execute(first).map { GatewayError($0, isWrite: isWrite) }
    }

    static func map(_ result: Result<RESPValue, StoreError>, isWrite: Bool) -> Result<RESPValue, GatewayError> {
        GatewayError.result(result, isWrite: isWrite)
    }
}
