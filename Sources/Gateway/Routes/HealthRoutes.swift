internal import EventLoop
internal import HTTP
internal import JSON
internal import Store

/// `GET /healthz`: the process is alive and its loop turns (no store call).
/// `GET /readyz`: the store answers a PING now; 503 with the reason otherwise.
/// `GET /v1/cluster`: each store node, its pool and its counters (never credentials);
/// in cluster mode also roles, slot ranges, redirects and refreshes, and `/readyz` is
/// 503 while any slot has no live master.
struct HealthRoutes {
    let store: Store
    /// Which `--workers` process answers (nil when there is one process).
    let workerID: Int?

    func register(on router: inout Router) {
        let health: JSONValue = .object(
            JSONObject(
                [("status", .string("ok"))] + (workerID.map { [("worker", JSONValue.integer(Int64($0)))] } ?? [])))
        let healthy = jsonResponse(health, status: 200)  // the same bytes every time: built once
        router.add("GET", "/healthz") { context in
            context.responder.respond(healthy)
        }
        router.add("GET", "/readyz") { context in readiness(context) }
        router.add("GET", "/v1/cluster") { context in
            context.responder.respond(jsonResponse(clusterDescription(), status: 200))
        }
    }

    private func readiness(_ context: RouteContext) {
        if store.isCluster, case let uncovered = store.uncoveredSlots, uncovered > 0 {
            return context.fail(
                GatewayError(
                    status: 503, code: "not_ready", message: "\(uncovered) cluster slots have no live master",
                    retryAfterSeconds: 1))
        }
        let refusal = store.execute(["PING"], idempotent: true, timeoutMs: 1000) { result in
            switch GatewayError.result(result, isWrite: false) {
            case .success:
                context.responder.respond(
                    jsonResponse(.object(JSONObject([("status", .string("ready"))])), status: 200))
            case .failure(let error):
                context.fail(Self.notReady(error))
            }
        }
        if let refusal { context.fail(Self.notReady(GatewayError(refusal, isWrite: false))) }
    }

    private static func notReady(_ error: GatewayError) -> GatewayError {
        GatewayError(
            status: 503, code: "not_ready", message: "the store is not answering: \(error.message)",
            retryAfterSeconds: 1)
    }

    private func clusterDescription() -> JSONValue {
        let nodes: [JSONValue] = store.nodes.map { node in
            let stats = node.stats
            var fields: [(String, JSONValue)] = [
                ("address", .string(node.address.description)),
                ("state", .string(node.isUp ? "up" : "down")),
                ("role", .string(node.role.rawValue)),
            ]
            if store.isCluster {
                let slots = node.slotRanges.map {
                    JSONValue.array([.integer(Int64($0.lowerBound)), .integer(Int64($0.upperBound))])
                }
                fields.append(("slots", .array(slots)))
                if node.role == .master { fields.append(("replicas", .integer(Int64(node.replicaCount ?? 0)))) }
            }
            fields += [
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
                ("commands", .integer(Int64(stats.submitted))),
                ("timeouts", .integer(Int64(stats.timeouts))),
                ("errors", .integer(Int64(stats.errors))),
                ("reconnects", .integer(Int64(stats.reconnects))),
            ]
            return .object(JSONObject(fields))
        }
        var top: [(String, JSONValue)] = [
            ("mode", .string(store.isCluster ? "cluster" : "single")), ("store", .string(store.url.description)),
            ("nodes", .array(nodes)),
        ]
        if store.isCluster {
            let stats = store.clusterStats
            top += [
                ("slots_uncovered", .integer(Int64(store.uncoveredSlots))),
                ("read_from_replicas", .bool(store.limits.readFromReplicas)),
                (
                    "redirects",
                    .object(
                        JSONObject([
                            ("moved", .integer(Int64(stats.moved))), ("ask", .integer(Int64(stats.asked))),
                            ("tryagain", .integer(Int64(stats.tryAgain))),
                            ("clusterdown", .integer(Int64(stats.clusterDown))),
                        ]))
                ),
                ("topology_refreshes", .integer(Int64(stats.refreshes))),
                ("topology_refresh_failures", .integer(Int64(stats.refreshFailures))),
            ]
        }
        return .object(JSONObject(top))
    }
}

/// `GET /openapi.yaml`: the contract, as loaded at start-up.
struct OpenAPIRoute {
    let document: [UInt8]?

    func register(on router: inout Router) {
        router.add("GET", "/openapi.yaml") { context in
            guard let document else {
                return context.fail(
                    GatewayError(status: 404, code: "not_found", message: "openapi.yaml was not found at start-up"))
            }
            context.responder.respond(
                HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/yaml")]), body: document))
        }
    }
}
