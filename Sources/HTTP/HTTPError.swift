/// Why the HTTP layer refused a request, and the status it answers with. The JSON
/// body is made by the server's error formatter (the Gateway's ErrorResponse).
package struct HTTPError: Error, Equatable, Sendable, CustomStringConvertible {
    package let status: Int
    /// Stable machine-readable code for the error body.
    package let code: String
    package let message: String

    package init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    package var description: String { "\(status) \(code): \(message)" }

    package static func malformed(_ message: String) -> HTTPError {
        HTTPError(status: 400, code: "malformed_request", message: message)
    }
    package static let missingHost = HTTPError(
        status: 400, code: "malformed_request", message: "request has no Host header")
    package static let duplicateHost = HTTPError(
        status: 400, code: "malformed_request", message: "request has more than one Host header")
    package static let transferEncodingInHTTP10 = HTTPError(
        status: 400, code: "malformed_request", message: "HTTP/1.0 request with Transfer-Encoding")
    package static func unsupportedTransferEncoding(_ value: String) -> HTTPError {
        HTTPError(
            status: 501, code: "not_implemented",
            message: "unsupported Transfer-Encoding '\(value)': only a single 'chunked' is accepted")
    }
    package static let versionNotSupported = HTTPError(
        status: 505, code: "http_version_not_supported", message: "only HTTP/1.0 and HTTP/1.1 are served")
    package static let uriTooLong = HTTPError(
        status: 414, code: "uri_too_long", message: "request target is longer than the limit")
    package static let headersTooLarge = HTTPError(
        status: 431, code: "headers_too_large", message: "request header fields are larger than the limit")
    package static let tooManyHeaders = HTTPError(
        status: 431, code: "headers_too_large", message: "request has more header fields than the limit")
    package static let bodyTooLarge = HTTPError(
        status: 413, code: "body_too_large", message: "request body is larger than the limit")
    package static let requestTimeout = HTTPError(
        status: 408, code: "request_timeout", message: "request was not received in time")
    package static func expectationFailed(_ value: String) -> HTTPError {
        HTTPError(status: 417, code: "expectation_failed", message: "unsupported Expect '\(value)'")
    }
    package static let overloaded = HTTPError(
        status: 503, code: "overloaded", message: "the gateway is at capacity; retry shortly")
    package static let serviceUnavailable = HTTPError(
        status: 503, code: "unavailable", message: "the server is shutting down")
}
