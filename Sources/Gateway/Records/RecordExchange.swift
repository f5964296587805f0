package import HTTP
internal import JSON
package import RESP

/// The record GET and PUT routes as one store round trip described, not run: the
/// request is parsed (`RecordRequest`), the command encoded as `RecordService` encodes
/// it, and the reply rendered as `RecordRoutes` renders it. For the thread-per-connection
/// twin (Benchmarks/SyncTwin), which sends the command over its own blocking socket;
/// the gateway itself never calls this. `SyncTwinTests` compares the two servers'
/// answers byte for byte, which keeps this copy of the glue honest.
package enum RecordExchange {
    /// What a request needs.
    package enum Plan {
        /// Answer at once: the request was refused, or is not a record GET or PUT.
        case respond(HTTPResponse)
        /// Send the trip's command and render its reply.
        case roundTrip(StoreTrip)
    }

    /// One command for the store and how to turn its reply into the response.
    package struct StoreTrip {
        /// The command's RESP bytes.
        package let command: [UInt8]
        /// Replies to read and drop before the one that answers (MULTI's OK, each QUEUED).
        package let leadingReplies: Int
        /// Decode the answering reply with `next(keepingArraysEncoded: true)`.
        package let keepsArrayEncoded: Bool
        /// Sent once when the answer is NOSCRIPT (EVAL with the script's source); its reply answers instead.
        package let retryOnNoScript: [UInt8]?
        /// A write's failures map as a write's (an unanswered write may have happened).
        private let isWrite: Bool
        private let render: (Result<RESPValue, GatewayError>) -> Answer

        fileprivate init(
            command: [UInt8], leadingReplies: Int, keepsArrayEncoded: Bool, retryOnNoScript: [UInt8]?,
            isWrite: Bool? = nil, render: @escaping (Result<RESPValue, GatewayError>) -> Answer
        ) {
            self.isWrite = isWrite ?? (retryOnNoScript != nil)
            self.command = command
            self.leadingReplies = leadingReplies
            self.keepsArrayEncoded = keepsArrayEncoded
            self.retryOnNoScript = retryOnNoScript
            self.render = render
        }

        /// What the store's answering reply leads to.
        package func answer(to reply: RESPValue) -> Answer {
            render(GatewayError.result(.success(reply), isWrite: isWrite))
        }

        /// The response when the store connection failed.
        package func responseToLostStore(_ message: String) -> HTTPResponse {
            let answer = render(
                .failure(GatewayError(status: 503, code: "store_unavailable", message: message, retryAfterSeconds: 1)))
            // A failure always renders a response; no follow-up trip.
            guard case .response(let response) = answer else {
                return ErrorResponse.make(GatewayError.storeReplyError(message), requestID: "")
            }
            return response
        }
    }

    /// What a trip's reply leads to.
    package enum Answer {
        case response(HTTPResponse)
        /// Another trip answers instead (a record in the old layout is read again with its TTL).
        indirect case followUp(StoreTrip)
    }

    /// Built once and only read after that: the twin's threads share it.
    nonisolated(unsafe) private static let router: Router = {
        var router = Router()
        router.add("GET", "/v1/kv/{ns}/{set}/{key}") { _ in }
        router.add("PUT", "/v1/kv/{ns}/{set}/{key}") { _ in }
        return router
    }()

    package static func plan(_ request: HTTPRequest) -> Plan {
        guard case .found(_, let parameters, _) = router.match(method: request.method, path: request.path),
            request.method == "GET" || request.method == "PUT"
        else { return .respond(ErrorResponse.notFound(path: request.path, requestID: request.id)) }
        do throws(GatewayError) {
            let parsed = try RecordRequest.parse(
                method: request.method, operate: false, parameters: parameters, request: request)
            if parsed.commit == .replicas {
                throw GatewayError.badRequest("invalid_commit", "the thread-per-connection twin has no commit=replicas")
            }
            switch parsed.operation {
            case .read(let bins): return .roundTrip(read(parsed.key, bins: bins, requestID: request.id))
            case .write(let bins, let mode, let expected, let ttl):
                return try write(parsed.key, bins: bins, mode: mode, expected: expected, ttl: ttl, request: request)
            default: return .respond(ErrorResponse.notFound(path: request.path, requestID: request.id))
            }
        } catch {
            return .respond(ErrorResponse.make(error, requestID: request.id))
        }
    }

    /// `RecordService.read`'s command (and its old-layout transaction), `RecordRoutes`' rendering.
    private static func read(_ key: RecordKey, bins: [String]?, requestID: String) -> StoreTrip {
        let redisKey = key.redisKeyBytes
        let selected = RecordService.selectedFields(bins)
        let oldLayout = StoreTrip(
            command: RecordService.oldLayoutRead(redisKey, selected: selected), leadingReplies: 3,
            keepsArrayEncoded: true, retryOnNoScript: nil
        ) { result in
            .response(
                render(key, requestID: requestID) { () throws(GatewayError) in
                    try StoredRecord(execReply: try result.get(), selected: selected)
                })
        }
        return StoreTrip(
            command: RecordService.plainRead(redisKey, selected: selected), leadingReplies: 0, keepsArrayEncoded: true,
            retryOnNoScript: nil
        ) { result in
            var isOldLayout = false
            let response = render(key, requestID: requestID) { () throws(GatewayError) in
                switch try StoredRecord.lookup(
                    plainReply: try result.get(), selected: selected, nowMs: RecordExpiry.wallClockMs())
                {
                case .found(let record): return record
                case .missing: return nil
                case .oldLayout:
                    isOldLayout = true
                    return nil
                }
            }
            return isOldLayout ? .followUp(oldLayout) : .response(response)
        }
    }

    private static func render(
        _ key: RecordKey, requestID: String, _ lookup: () throws(GatewayError) -> StoredRecord?
    ) -> HTTPResponse {
        do throws(GatewayError) {
            guard let record = try lookup() else {
                let error = GatewayError.notFound("no record \(key.namespace)/\(key.set)/\(key.key.prefix(64))")
                return ErrorResponse.make(error, requestID: requestID)
            }
            var body: [UInt8] = []
            try record.appendJSON(to: &body)
            return RecordRoutes.recordResponse(body: body, generation: record.generation, status: 200)
        } catch {
            return ErrorResponse.make(error, requestID: requestID)
        }
    }

    /// `RecordService.write`'s script call, `RecordRoutes`' rendering.
    private static func write(
        _ key: RecordKey, bins: WriteBins, mode: RecordService.WriteMode, expected: Int?, ttl: Int?,
        request: HTTPRequest
    ) throws(GatewayError) -> Plan {
        let requestID = request.id
        let target = request.target
        let call = try RecordService.writeCall(key, bins: bins, mode: mode, expectedGeneration: expected, ttl: ttl)
        let binsJSON = call.binsJSON
        guard call.isPlainReplace else {
            let trip = scriptTrip(RecordScripts.write, call.scriptArguments()) { result in
                .response(
                    writeResponse(
                        RecordService.written(result, bins: bins, binsJSON: binsJSON), target: target,
                        requestID: requestID))
            }
            return .roundTrip(trip)
        }
        let redisKey = call.redisKey
        let trip = StoreTrip(
            command: call.replaceTransaction(), leadingReplies: RecordService.replaceLeadingReplies,
            keepsArrayEncoded: false, retryOnNoScript: nil, isWrite: true
        ) { result in
            let replaced = RecordService.replaced(result)
            guard case .success(let outcome) = replaced, outcome.needsConversion else {
                let written = replaced.map { RecordService.Written(bins: bins, binsJSON: binsJSON, outcome: $0) }
                return .response(writeResponse(written, target: target, requestID: requestID))
            }
            var arguments = ScriptRunner.arguments(key: redisKey)
            arguments.append("")
            return .followUp(
                scriptTrip(RecordScripts.convert, arguments) { result in
                    let written = RecordService.Written(
                        bins: bins, binsJSON: binsJSON, converted: result, outcome: outcome)
                    return .response(writeResponse(.success(written), target: target, requestID: requestID))
                })
        }
        return .roundTrip(trip)
    }

    /// A script's EVALSHA, with its EVAL for NOSCRIPT.
    private static func scriptTrip(
        _ script: RecordScript, _ arguments: RESPArguments,
        answer: @escaping (Result<RESPValue, GatewayError>) -> Answer
    ) -> StoreTrip {
        var command: [UInt8] = []
        if arguments.announcedCount != nil {
            command = arguments.encoded  // already the EVALSHA command (`ScriptRunner.writeArguments`)
        } else {
            RESPEncoder.appendCommand(head: script.evalshaHead, headCount: 2, arguments, to: &command)
        }
        var source: [UInt8] = []
        RESPEncoder.appendCommand(head: ["EVAL", script.source], arguments, to: &source)
        return StoreTrip(
            command: command, leadingReplies: 0, keepsArrayEncoded: false, retryOnNoScript: source, render: answer)
    }

    private static func writeResponse(
        _ written: Result<RecordService.Written, GatewayError>, target: String, requestID: String
    ) -> HTTPResponse {
        switch written {
        case .success(let written):
            var response = RecordRoutes.recordResponse(
                body: written.responseJSON(), generation: written.generation, status: written.created ? 201 : 200)
            if written.created {
                let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
                response.headers.add(name: "Location", value: String(path))
            }
            return response
        case .failure(let error):
            return ErrorResponse.make(error, requestID: requestID)
        }
    }
}
