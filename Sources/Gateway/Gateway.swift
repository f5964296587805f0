package import HTTP
package import EventLoop
package import Store

/// The REST surface: builds the route table once and dispatches each request.
///
/// ```
///  HTTPServer ─request─▶ Gateway.handle ─▶ Router ─▶ route ─▶ RecordService ─▶ Store
///  HTTPResponder ◀──────────── JSON or ErrorResponse ◀── completion ◀─────────┘
/// ```
/// Unknown paths get 404, wrong methods 405 with `Allow`; every error is the JSON
/// body of `ErrorResponse`.
package final class Gateway {
    package let loop: Loop
    package let store: Store
    package let metrics = Metrics()
    /// Set once the server exists (it is built with this gateway's handler).
    package weak var server: HTTPServer?
    private var router = Router()
    /// API keys and CORS (docs/security.md); nil when neither is configured.
    private let access: AccessControl?

    package init(
        loop: Loop, store: Store, openAPIDocument: [UInt8]? = nil, workerID: Int? = nil,
        security: SecurityConfiguration = SecurityConfiguration(), maxBatchItems: Int = Gateway.defaultMaxBatchItems
    ) {
        self.loop = loop
        self.store = store
        access = security.isInactive ? nil : AccessControl(security)
        metrics.workerID = workerID
        let records = RecordService(store: store)
        HealthRoutes(store: store, workerID: workerID).register(on: &router)
        OpenAPIRoute(document: openAPIDocument).register(on: &router)
        RecordRoutes(records: records).register(on: &router)
        BatchRoutes(records: records, maxItems: maxBatchItems).register(on: &router)
        ScanRoute(store: store, records: records).register(on: &router)
        router.add("GET", "/metrics") { [unowned self] context in
            context.responder.respond(
                HTTPResponse(
                    status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                    body: metrics.render(server: server, store: store)))
        }
    }

    package var routeTemplates: [(method: String, template: String)] { router.templates }

    /// Adds routes owned by modules the gateway can't import (Orders); called once at start-up.
    package func addRoutes(_ register: (inout Router) -> Void) { register(&router) }

    package func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let match = router.match(method: request.method, path: request.path)
        var principal: String?
        if let access {
            guard case .allowed(let admitted) = access.admit(request, responder, match) else { return }
            principal = admitted
        }
        switch match {
        case .found(let template, let parameters, let handler):
            responder.route = template
            handler(RouteContext(request: request, parameters: parameters, responder: responder, principal: principal))
        case .methodNotAllowed(let allow):
            responder.respond(ErrorResponse.methodNotAllowed(method: request.method, allow: allow, requestID: request.id))
        case .notFound:
            responder.respond(ErrorResponse.notFound(path: request.path, requestID: request.id))
        }
    }
}
