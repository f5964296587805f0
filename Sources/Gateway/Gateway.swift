package import EventLoop
package import HTTP
package import Store

/// The REST surface and the HTTP server that feeds it: builds the route table once,
/// owns the server whose handler dispatches into that table, and serves /metrics
/// from both.
///
/// ```
///  HTTPServer ─request─▶ RequestDispatcher.handle ─▶ Router ─▶ route ─▶ RecordService ─▶ Store
///  HTTPResponder ◀──────────── JSON or ErrorResponse ◀── completion ◀─────────┘
/// ```
/// Ownership is a tree: the composition root holds the gateway (and the store), the
/// gateway holds the server and the dispatcher, the server's handler holds the
/// dispatcher. Nothing points back up. Unknown paths get 404, wrong methods 405 with
/// `Allow`; every error is the JSON body of `ErrorResponse`.
package final class Gateway {
    package let loop: Loop
    package let store: Store
    package let metrics = Metrics()
    /// Listens once the composition root calls `server.listen`.
    package let server: HTTPServer
    private let dispatcher: RequestDispatcher

    package init(
        loop: Loop, store: Store, limits: HTTPLimits = HTTPLimits(), openAPIDocument: [UInt8]? = nil,
        workerID: Int? = nil, security: SecurityConfiguration = SecurityConfiguration(),
        maxBatchItems: Int = Gateway.defaultMaxBatchItems, commitLevel: CommitLevel = .master
    ) {
        self.loop = loop
        self.store = store
        let dispatcher = RequestDispatcher(access: security.isInactive ? nil : AccessControl(security))
        let server = HTTPServer(
            loop: loop, limits: limits, formatError: { error, id in ErrorResponse.make(error, requestID: id) },
            handler: dispatcher.handle)
        self.dispatcher = dispatcher
        self.server = server
        metrics.workerID = workerID
        let records = RecordService(store: store, defaultCommitLevel: commitLevel)
        addRoutes { router in
            HealthRoutes(store: store, workerID: workerID).register(on: &router)
            OpenAPIRoute(document: openAPIDocument).register(on: &router)
            RecordRoutes(records: records).register(on: &router)
            BatchRoutes(records: records, maxItems: maxBatchItems).register(on: &router)
            ScanRoute(store: store, records: records).register(on: &router)
            // Unowned: only the server calls into the routes, so it is alive whenever this runs.
            router.add("GET", "/metrics") { [metrics, unowned server] context in
                context.responder.respond(
                    HTTPResponse(
                        status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                        body: metrics.render(server: server, store: store)))
            }
        }
    }

    package var routeTemplates: [(method: String, template: String)] { dispatcher.router.templates }

    /// Adds routes owned by modules the gateway can't import (Orders); called once at start-up.
    package func addRoutes(_ register: (inout Router) -> Void) { register(&dispatcher.router) }

    package func handle(_ request: consuming HTTPRequest, _ responder: HTTPResponder) {
        dispatcher.handle(request, responder)
    }
}

/// The route table and the access check in front of it: the server's handler.
final class RequestDispatcher {
    var router = Router()
    /// API keys and CORS (docs/security.md); nil when neither is configured.
    private let access: AccessControl?

    init(access: AccessControl?) { self.access = access }

    /// `request` is consumed: the route context takes it over without a copy.
    func handle(_ request: consuming HTTPRequest, _ responder: HTTPResponder) {
        let match = router.match(method: request.method, target: request.target)
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
            responder.respond(
                ErrorResponse.methodNotAllowed(method: request.method, allow: allow, requestID: request.id))
        case .notFound:
            responder.respond(ErrorResponse.notFound(path: request.path, requestID: request.id))
        }
    }
}
