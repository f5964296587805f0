internal import RESP

/// A record script's reply, decoded once. Every script answers an array whose first
/// element is its status: negative for a refusal (nothing was written), 0 or 1 for
/// success, then the generation and what the script returns besides.
///
///     {-404, 0}  {-409, gen}  {-412, gen}  {-413, gen}  {-413, gen, 'bytes'}  {-400, message}
///     {created 0|1, gen, _exp?, payload?}
enum ScriptReply {
    /// -404: no such record.
    case missing
    /// -409: a create found the record.
    case exists(generation: Int)
    /// -412: `If-Match` named another generation (0: the record does not exist).
    case generationMismatch(current: Int)
    /// -413: the result would hold more bins than a record may.
    case tooManyBins
    /// -413 with 'bytes': the result would hold more bytes than a record may.
    case tooLarge
    /// -400: an operation does not fit the bin's current value.
    case invalidOperation(String)
    /// Success: `created` is status 1; `ttl` from the record's `_exp` by the gateway's
    /// clock, -1 when it never expires or the script sends none.
    case done(created: Bool, generation: Int, ttl: Int, payload: RESPValue?)

    init(_ reply: RESPValue, operation: StaticString) throws(GatewayError) {
        guard case .array(let parts?) = reply, parts.count >= 2, let status = integer(parts[0]) else {
            throw GatewayError.storeReplyError("unexpected reply to \(operation)")
        }
        if status == -400 {
            self = .invalidOperation(parts[1].string ?? "operation failed")
            return
        }
        guard let generation = integer(parts[1]) else {
            throw GatewayError.storeReplyError("unexpected reply to \(operation)")
        }
        switch status {
        case -404: self = .missing
        case -409: self = .exists(generation: generation)
        case -412: self = .generationMismatch(current: generation)
        case -413: self = parts.count > 2 ? .tooLarge : .tooManyBins
        case 0, 1:
            self = .done(
                created: status == 1, generation: generation,
                ttl: parts.count > 2 ? RecordExpiry.ttl(expiresAtMs: Int64(integer(parts[2]) ?? 0)) : -1,
                payload: parts.count > 3 ? parts[3] : nil)
        default: throw GatewayError.storeReplyError("unexpected reply to \(operation)")
        }
    }

    /// The API's answer to a refusal; nil on success.
    var error: GatewayError? {
        switch self {
        case .missing: .notFound("no such record")
        case .exists: .conflict("the record already exists")
        case .generationMismatch(let current): .preconditionFailed(current: current)
        case .tooManyBins: RecordService.tooManyBins
        case .tooLarge: RecordService.recordTooLarge
        // The operation does not fit the bin's current value (type, range): a conflict with the record's state.
        case .invalidOperation(let message): GatewayError(status: 409, code: "bin_type_mismatch", message: message)
        case .done: nil
        }
    }

    /// Decodes `result` and hands the success parts to `success`; refusals become their errors.
    static func decode<Success>(
        _ result: Result<RESPValue, GatewayError>, operation: StaticString,
        _ success: (_ created: Bool, _ generation: Int, _ ttl: Int, _ payload: RESPValue?) throws(GatewayError) ->
            Success
    ) -> Result<Success, GatewayError> {
        Result { () throws(GatewayError) in
            let reply = try ScriptReply(try result.get(), operation: operation)
            guard case .done(let created, let generation, let ttl, let payload) = reply else {
                throw reply.error ?? GatewayError.storeReplyError("unexpected reply to \(operation)")
            }
            return try success(created, generation, ttl, payload)
        }
    }
}
