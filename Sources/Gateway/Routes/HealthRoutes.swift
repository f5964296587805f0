internal import HTTP

/// `GET /healthz`: the process is alive and its loop turns. No store call.
enum HealthRoutes {
    static func register(on router: inout Router) {
        router.add("GET", "/healthz") { context in
            context.responder.respond(
                HTTPResponse(status: 200, contentType: "application/json", body: #"{"status":"ok"}"#))
        }
    }
}
