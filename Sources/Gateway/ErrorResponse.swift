package import HTTP

/// The one place that turns an error into its HTTP status and JSON body
/// `{"error":{"code","message","request_id"[,"in_doubt"]}}` (openapi.yaml `Error`),
/// plus `Retry-After` when shedding load and `Allow` for 405.
package enum ErrorResponse {
    package static func make(_ error: HTTPError, requestID: String) -> HTTPResponse {
        make(GatewayError(status: error.status, code: error.code, message: error.message), requestID: requestID)
    }

    package static func make(_ error: GatewayError, requestID: String, extraHeaders: [(String, String)] = [])
        -> HTTPResponse
    {
        let body = HTTPServer.errorBody(
            code: error.code, message: error.message, requestID: requestID, inDoubt: error.inDoubt)
        var response = HTTPResponse(status: error.status, contentType: "application/json", body: body)
        if let seconds = error.retryAfterSeconds { response.headers.add(name: "Retry-After", value: String(seconds)) }
        for (name, value) in extraHeaders { response.headers.add(name: name, value: value) }
        return response
    }

    package static func notFound(path: Substring, requestID: String) -> HTTPResponse {
        make(GatewayError(status: 404, code: "not_found", message: "no route for \(path)"), requestID: requestID)
    }

    package static func methodNotAllowed(method: String, allow: [String], requestID: String) -> HTTPResponse {
        make(
            GatewayError(status: 405, code: "method_not_allowed", message: "method \(method) is not allowed here"),
            requestID: requestID, extraHeaders: [("Allow", allow.joined(separator: ", "))])
    }
}
