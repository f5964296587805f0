internal import HTTP
internal import Store
internal import EventLoop

/// `GET /healthz`: the process is alive and its loop turns (no store call).
/// `GET /readyz`: the store answers a PING now; 503 with the reason otherwise.
/// `GET /v1/cluster`: each store node, its pool and its counters (never credentials).
struct HealthRoutes {
    let store: Store
    /// Which `--workers` process answers (nil when there is one process).
    let workerID: Int?

    func register(on router: inout Router) {
        let health: JSONValue = .object(
            JSONObject([("status", .string("ok"))] + (workerID.map { [("worker", JSONValue.integer(Int64($0)))] } ?? [])))
        router.add("GET", "/healthz") { context in
            context.responder.respond(jsonResponse(health, status: 200))
        }
        router.add("GET", "/readyz") { context in readiness(context) }
        router.add("GET", "/v1/cluster") { context in
            context.responder.respond(jsonResponse(clusterDescription(), status: 200))
        }
    }

    private func readiness(_ context: RouteContext) {
        let refusal = store.execute(["PING"], idempotent: true, timeoutMs: 1000) { result in
            switch ScriptRunner.map(result, isWrite: false) {
            case .success:
                context.responder.respond(jsonResponse(.object(JSONObject([("status", .string("ready"))])), status: 200))
            case .failure(let error):
                context.fail(Self.notReady(error))
            }
        }
        if let refusal { context.fail(Self.notReady(GatewayError(refusal, isWrite: false))) }
    }

    private static func notReady(_ error: GatewayError) -> GatewayError {
        GatewayError(status: 503, code: "not_ready", message: "the store is not answering: \(error.message)", retryAfterSeconds: 1)
    }

    private func clusterDescription() -> JSONValue {
        let nodes: [JSONValue] = store.nodes.map { node in
            let stats = node.stats
            return .object(
                JSONObject([
                    ("address", .string(node.address.description)),
                    ("state", .string(node.isUp ? "up" : "down")),
                    ("role", .string("master")),
                    (
                        "connections",
                        .object(
                            JSONObject([
                                ("open", .integer(Int64(node.openConnections))),
                                ("max", .integer(Int64(store.limits.maxConnectionsPerNode))),
                            ]))
                    ),
                    ("pipeline_depth_max", .integer(Int64(store.limits.maxPipelinePerConnection))),
                    ("in_flight", .integer(Int64(stats.inFlight))),
                    ("queued", .integer(Int64(stats.queued))),
                    ("queue_max", .integer(Int64(store.limits.maxQueuedPerNode))),
                    ("timeouts", .integer(Int64(stats.timeouts))),
                    ("errors", .integer(Int64(stats.errors))),
                    ("reconnects", .integer(Int64(stats.reconnects))),
                ]))
        }
        return .object(JSONObject([("mode", .string("single")), ("store", .string(store.url.description)), ("nodes", .array(nodes))]))
    }
}

/// `GET /openapi.yaml`: the contract, as loaded at start-up.
struct OpenAPIRoute {
    let document: [UInt8]?

    func register(on router: inout Router) {
        router.add("GET", "/openapi.yaml") { context in
            guard let document else {
                return context.fail(GatewayError(status: 404, code: "not_found", message: "openapi.yaml was not found at start-up"))
            }
            context.responder.respond(
                HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/yaml")]), body: document))
        }
    }
}
