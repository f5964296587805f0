package import RESP
package import Store

/// A request the gateway answers with an error: status, stable code, message, and
/// for store writes whose fate is unknown, `inDoubt`. Built by the static functions
/// here and by `init(_ storeError:)`; `ErrorResponse` turns it into the JSON body.
package struct GatewayError: Error, Equatable, CustomStringConvertible {
    package let status: Int
    package let code: String
    package let message: String
    package var inDoubt: Bool?
    package var retryAfterSeconds: Int?

    package init(status: Int, code: String, message: String, inDoubt: Bool? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.inDoubt = inDoubt
        self.retryAfterSeconds = retryAfterSeconds
    }

    package var description: String { "\(status) \(code): \(message)" }

    package static func badRequest(_ code: String, _ message: String) -> GatewayError {
        GatewayError(status: 400, code: code, message: message)
    }
    package static func notFound(_ message: String) -> GatewayError {
        GatewayError(status: 404, code: "record_not_found", message: message)
    }
    package static func conflict(_ message: String) -> GatewayError {
        GatewayError(status: 409, code: "record_exists", message: message)
    }
    package static func preconditionFailed(current generation: Int) -> GatewayError {
        GatewayError(
            status: 412, code: "generation_mismatch",
            message: generation == 0
                ? "the record does not exist" : "the record's generation is \(generation)")
    }
    package static func tooLarge(_ code: String, _ message: String) -> GatewayError {
        GatewayError(status: 413, code: code, message: message)
    }
    package static let unsupportedMediaType = GatewayError(
        status: 415, code: "unsupported_media_type", message: "request body must be application/json")
    package static func storeReplyError(_ message: String) -> GatewayError {
        GatewayError(status: 502, code: "store_error", message: "the store answered: \(message)")
    }

    /// The store client's refusals and failures, as HTTP: the one mapping every route
    /// family uses. `isWrite` decides whether `in_doubt` is said (only writes can be in doubt).
    package init(_ error: StoreError, isWrite: Bool) {
        switch error.kind {
        case .overloaded:
            self.init(status: 503, code: "overloaded", message: error.message, retryAfterSeconds: 1)
        case .nodeDown, .certificateRejected:
            self.init(status: 503, code: "store_unavailable", message: error.message, retryAfterSeconds: 1)
        case .closed:
            self.init(status: 503, code: "shutting_down", message: error.message, retryAfterSeconds: 1)
        case .timeout(let unknown):
            self.init(
                status: 504, code: "store_timeout", message: error.message,
                inDoubt: isWrite ? unknown : nil)
        case .connectionLost(let unknown):
            self.init(
                status: 502, code: "store_connection_lost", message: error.message,
                inDoubt: isWrite ? unknown : nil)
        case .authenticationFailed:
            self.init(status: 502, code: "store_auth_failed", message: error.message)
        case .protocolError:
            self.init(status: 502, code: "store_error", message: error.message)
        case .invalidConfiguration:
            self.init(status: 500, code: "internal_error", message: error.message)
        case .clusterDown:
            self.init(status: 503, code: "cluster_unavailable", message: error.message, retryAfterSeconds: 1)
        case .crossSlot:
            self.init(status: 400, code: "cross_slot", message: error.message)
        case .notReplicated:
            self.init(status: 504, code: "not_replicated", message: error.message, inDoubt: isWrite ? true : nil)
        case .noReplicas:
            self.init(status: 409, code: "no_replicas", message: error.message)
        }
    }

    /// A store completion as a route sees it: an error reply is a 502 `store_error`,
    /// a failure is mapped as above, anything else is the reply.
    package static func result(_ result: Result<RESPValue, StoreError>, isWrite: Bool) -> Result<
        RESPValue, GatewayError
    > {
        switch result {
        case .success(.error(let message)): .failure(.storeReplyError(message))
        case .success(let value): .success(value)
        case .failure(let error): .failure(GatewayError(error, isWrite: isWrite))
        }
    }
}
