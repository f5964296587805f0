internal import Store
internal import RESP

/// Runs a record script by its digest (EVALSHA); when the store has not cached it
/// (NOSCRIPT: nothing ran), sends the source once with EVAL, which caches it.
struct ScriptRunner {
    let store: Store

    /// Nil when accepted (the completion runs later), else the synchronous refusal.
    func run(
        _ script: RecordScript, key: String, arguments: [String], isWrite: Bool, timeoutMs: UInt64?,
        completion: @escaping (Result<RESPValue, GatewayError>) -> Void
    ) -> GatewayError? {
        let tail = ["1", key] + arguments
        // Replicas answer only read-only commands: the _RO forms (Redis 7) when reads may go there.
        let readOnly = !isWrite && store.isCluster && store.limits.readFromReplicas
        let refusal = store.execute(
            [readOnly ? "EVALSHA_RO" : "EVALSHA", script.sha] + tail, idempotent: !isWrite, timeoutMs: timeoutMs
        ) { result in
            switch result {
            case .success(.error(let message)) where message.hasPrefix("NOSCRIPT"):
                let retry = store.execute(
                    [readOnly ? "EVAL_RO" : "EVAL", script.source] + tail, idempotent: !isWrite, timeoutMs: timeoutMs
                ) {
                    completion(Self.map($0, isWrite: isWrite))
                }
                if let retry { completion(.failure(GatewayError(retry, isWrite: isWrite))) }
            default:
                completion(Self.map(result, isWrite: isWrite))
            }
        }
        return refusal.map { GatewayError($0, isWrite: isWrite) }
    }

    static func map(_ result: Result<RESPValue, StoreError>, isWrite: Bool) -> Result<RESPValue, GatewayError> {
        GatewayError.result(result, isWrite: isWrite)
    }
}
