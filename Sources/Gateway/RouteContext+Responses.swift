package import HTTP
package import JSON

// The route kit every route family uses (records, batch, scan, health, the pizzeria):
// JSON responses, error responses, and the handler shape that turns a validation
// error or a synchronous store refusal into the response.

/// `value` as a compact JSON body.
package func jsonResponse(_ value: JSONValue, status: Int) -> HTTPResponse {
    var body: [UInt8] = []
    JSONWriter.append(value, to: &body)
    return HTTPResponse(status: status, headers: jsonHeaders, body: body)
}

/// Shared by every JSON response (one header block, never copied unless a route adds to it).
let jsonHeaders = HTTPHeaders([("Content-Type", "application/json")])

extension RouteContext {
    /// Answers with the error's status and JSON body.
    package func fail(_ error: GatewayError) {
        responder.respond(ErrorResponse.make(error, requestID: request.id))
    }

    /// Answers with `value` as JSON.
    package func respond(json value: JSONValue, status: Int) {
        responder.respond(jsonResponse(value, status: status))
    }
}

/// Runs a handler that may throw a validation error or return a synchronous store
/// refusal (nil when the store accepted the work and its completion answers later);
/// either error becomes the response.
package func respond(_ context: RouteContext, _ body: () throws -> GatewayError?) {
    do {
        if let refusal = try body() { context.fail(refusal) }
    } catch let error as GatewayError {
        context.fail(error)
    } catch {
        context.fail(GatewayError(status: 500, code: "internal_error", message: "\(error)"))
    }
}
