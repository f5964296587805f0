package import HTTP

/// The one place that turns an error into its HTTP status and JSON body
/// `{"error":{"code","message","request_id"}}` (openapi.yaml `Error`).
package enum ErrorResponse {
    package static func make(_ error: HTTPError, requestID: String, extraHeaders: [(String, String)] = [])
        -> HTTPResponse
    {
        var response = HTTPServer.defaultErrorResponse(error, requestID: requestID)
        for (name, value) in extraHeaders { response.headers.add(name: name, value: value) }
        return response
    }

    package static func notFound(path: Substring, requestID: String) -> HTTPResponse {
        make(HTTPError(status: 404, code: "not_found", message: "no route for \(path)"), requestID: requestID)
    }

    package static func methodNotAllowed(method: String, allow: [String], requestID: String) -> HTTPResponse {
        make(
            HTTPError(status: 405, code: "method_not_allowed", message: "method \(method) is not allowed here"),
            requestID: requestID, extraHeaders: [("Allow", allow.joined(separator: ", "))])
    }
}
