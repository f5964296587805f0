package import HTTP
package import EventLoop

/// The REST surface: builds the route table once and dispatches each request.
///
/// ```
///  HTTPServer ─request─▶ Gateway.handle ─▶ Router ─▶ route handler ─▶ HTTPResponder
/// ```
/// Unknown paths get 404, wrong methods 405 with `Allow`, both as JSON error bodies.
package final class Gateway {
    package let loop: Loop
    private var router = Router()

    package init(loop: Loop) {
        self.loop = loop
        HealthRoutes.register(on: &router)
    }

    package var routeTemplates: [(method: String, template: String)] { router.templates }

    package func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch router.match(method: request.method, path: request.path) {
        case .found(_, let parameters, let handler):
            handler(RouteContext(request: request, parameters: parameters, responder: responder))
        case .methodNotAllowed(let allow):
            responder.respond(ErrorResponse.methodNotAllowed(method: request.method, allow: allow, requestID: request.id))
        case .notFound:
            responder.respond(ErrorResponse.notFound(path: request.path, requestID: request.id))
        }
    }
}
