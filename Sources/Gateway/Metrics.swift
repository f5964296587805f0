package import HTTP
internal import Store
internal import EventLoop

/// Everything /metrics shows, declared once as a table (name, kind, help) and
/// rendered in the Prometheus text format. Values are plain integers updated on the
/// loop thread: no locks, which is why this is hand-written rather than built on
/// swift-metrics/swift-prometheus (whose registries lock on every update).
package final class Metrics {
    enum Kind: String { case counter, gauge, histogram }

    struct Definition {
        let name: String
        let kind: Kind
        let help: String
    }

    static let table: [Definition] = [
        .init(name: "storegate_worker_info", kind: .gauge, help: "1, labelled with the worker process id (1 when single-process)."),
        .init(name: "storegate_http_requests_total", kind: .counter, help: "Responses by route template, method and status."),
        .init(name: "storegate_http_request_duration_seconds", kind: .histogram, help: "Time from a complete request to its response being queued, by route."),
        .init(name: "storegate_http_received_body_bytes_total", kind: .counter, help: "Request body bytes received."),
        .init(name: "storegate_http_sent_bytes_total", kind: .counter, help: "Response bytes queued for sending."),
        .init(name: "storegate_http_connections_open", kind: .gauge, help: "Client connections open."),
        .init(name: "storegate_http_connections_accepted_total", kind: .counter, help: "Client connections accepted."),
        .init(name: "storegate_http_connections_refused_total", kind: .counter, help: "Connections closed at once because max_connections was reached."),
        .init(name: "storegate_http_refused_requests_total", kind: .counter, help: "Malformed, oversized or timed-out requests answered with an error and a close."),
        .init(name: "storegate_layer1_pipeline_pauses_total", kind: .counter, help: "Layer 1: times a connection stopped being read at its pipelined-request cap."),
        .init(name: "storegate_layer2_requests_in_progress", kind: .gauge, help: "Layer 2: requests being handled."),
        .init(name: "storegate_layer2_capacity", kind: .gauge, help: "Layer 2: max_requests_in_progress."),
        .init(name: "storegate_layer2_waiting", kind: .gauge, help: "Layer 2: requests waiting for capacity."),
        .init(name: "storegate_layer2_rejected_total", kind: .counter, help: "Layer 2: requests answered 503 after waiting past the admission timeout."),
        .init(name: "storegate_layer3_store_connections_open", kind: .gauge, help: "Layer 3: backend connections open, per store node."),
        .init(name: "storegate_layer3_store_connections_max", kind: .gauge, help: "Layer 3: max_conns_per_node."),
        .init(name: "storegate_layer3_store_commands_in_flight", kind: .gauge, help: "Layer 3: commands sent or queued and not yet answered, per node."),
        .init(name: "storegate_layer3_store_queue_depth", kind: .gauge, help: "Layer 3: commands waiting in the node queue."),
        .init(name: "storegate_layer3_store_queue_max", kind: .gauge, help: "Layer 3: max_queued_per_node."),
        .init(name: "storegate_layer3_store_rejected_total", kind: .counter, help: "Layer 3: commands refused at once, by reason (overloaded, node_down)."),
        .init(name: "storegate_store_commands_total", kind: .counter, help: "Commands accepted, per node."),
        .init(name: "storegate_store_timeouts_total", kind: .counter, help: "Commands that passed their deadline, per node."),
        .init(name: "storegate_store_errors_total", kind: .counter, help: "Backend connection failures, per node."),
        .init(name: "storegate_store_reconnects_total", kind: .counter, help: "Reconnect probes after a node went down, per node."),
        .init(name: "storegate_store_node_up", kind: .gauge, help: "1 when the node is usable, 0 while it is down."),
        .init(name: "storegate_cluster_redirects_total", kind: .counter, help: "Redis Cluster: redirect replies followed, by kind (moved, ask, tryagain, clusterdown)."),
        .init(name: "storegate_cluster_slots_uncovered", kind: .gauge, help: "Redis Cluster: slots with no live master (readyz is 503 meanwhile)."),
        .init(name: "storegate_cluster_topology_refreshes_total", kind: .counter, help: "Redis Cluster: CLUSTER SLOTS answers applied."),
        .init(name: "storegate_layer4_slow_reader_pauses_total", kind: .counter, help: "Layer 4: times a client was not read because its unsent responses passed max_unsent_bytes."),
        .init(name: "storegate_layer4_slow_reader_resets_total", kind: .counter, help: "Layer 4: clients reset after staying stuck past the slow-reader timeout."),
    ]

    /// Upper bounds in seconds.
    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    private static let bucketNanoseconds: [UInt64] = latencyBuckets.map { UInt64($0 * 1_000_000_000) }

    private struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private struct Histogram {
        var buckets = [Int](repeating: 0, count: Metrics.latencyBuckets.count)
        var count = 0
        var sumNanoseconds: UInt64 = 0
    }

    private var requests: [RequestKey: Int] = [:]
    private var latency: [String: Histogram] = [:]
    private var receivedBytes = 0
    private var sentBytes = 0
    /// The `--workers` process this is (metrics are per process).
    package var workerID: Int?

    package init() {}

    package func record(_ summary: ResponseSummary) {
        requests[RequestKey(route: summary.route, method: summary.method, status: summary.status), default: 0] += 1
        var histogram = latency[summary.route] ?? Histogram()
        let index = Self.bucketNanoseconds.firstIndex { summary.durationNanoseconds <= $0 } ?? Self.latencyBuckets.count
        if index < histogram.buckets.count { histogram.buckets[index] += 1 }
        histogram.count += 1
        histogram.sumNanoseconds &+= summary.durationNanoseconds
        latency[summary.route] = histogram
        receivedBytes += summary.bytesIn
        sentBytes += summary.bytesOut
    }

    /// The Prometheus text exposition of every metric in `table`.
    func render(server: HTTPServer?, store: Store) -> String {
        var samples: [String: [String]] = [:]
        func add(_ name: String, _ labels: String, _ value: String) {
            samples[name, default: []].append(labels.isEmpty ? "\(name) \(value)" : "\(name){\(labels)} \(value)")
        }
        for (key, count) in requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            add("storegate_http_requests_total", "route=\(quote(key.route)),method=\(quote(key.method)),status=\"\(key.status)\"", String(count))
        }
        for (route, histogram) in latency.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (index, bound) in Self.latencyBuckets.enumerated() {
                cumulative += histogram.buckets[index]
                samples["storegate_http_request_duration_seconds", default: []].append(
                    "storegate_http_request_duration_seconds_bucket{route=\(quote(route)),le=\"\(bound)\"} \(cumulative)")
            }
            samples["storegate_http_request_duration_seconds", default: []] += [
                "storegate_http_request_duration_seconds_bucket{route=\(quote(route)),le=\"+Inf\"} \(histogram.count)",
                "storegate_http_request_duration_seconds_sum{route=\(quote(route))} \(Double(histogram.sumNanoseconds) / 1e9)",
                "storegate_http_request_duration_seconds_count{route=\(quote(route))} \(histogram.count)",
            ]
        }
        add("storegate_worker_info", "worker=\"\(workerID ?? 1)\"", "1")
        add("storegate_http_received_body_bytes_total", "", String(receivedBytes))
        add("storegate_http_sent_bytes_total", "", String(sentBytes))
        if let server {
            let connections = server.connectionStats
            add("storegate_http_connections_open", "", String(server.connectionCount))
            add("storegate_http_connections_accepted_total", "", String(connections.accepted))
            add("storegate_http_connections_refused_total", "", String(server.refusedConnections))
            add("storegate_http_refused_requests_total", "", String(connections.refusedRequests))
            add("storegate_layer1_pipeline_pauses_total", "", String(connections.pipelinePauses))
            add("storegate_layer2_requests_in_progress", "", String(server.admission.inProgress))
            add("storegate_layer2_capacity", "", String(server.limits.maxRequestsInProgress))
            add("storegate_layer2_waiting", "", String(server.admission.waitingCount))
            add("storegate_layer2_rejected_total", "", String(server.admission.stats.rejected))
            add("storegate_layer4_slow_reader_pauses_total", "", String(connections.slowReaderPauses))
            add("storegate_layer4_slow_reader_resets_total", "", String(connections.slowReaderResets))
        }
        add("storegate_layer3_store_connections_max", "", String(store.limits.maxConnectionsPerNode))
        add("storegate_layer3_store_queue_max", "", String(store.limits.maxQueuedPerNode))
        for node in store.nodes {
            let label = "node=\(quote(node.address.description))"
            let stats = node.stats
            add("storegate_layer3_store_connections_open", label, String(node.openConnections))
            add("storegate_layer3_store_commands_in_flight", label, String(stats.inFlight))
            add("storegate_layer3_store_queue_depth", label, String(stats.queued))
            add("storegate_layer3_store_rejected_total", label + ",reason=\"overloaded\"", String(stats.rejectedOverloaded))
            add("storegate_layer3_store_rejected_total", label + ",reason=\"node_down\"", String(stats.rejectedNodeDown))
            add("storegate_store_commands_total", label, String(stats.submitted))
            add("storegate_store_timeouts_total", label, String(stats.timeouts))
            add("storegate_store_errors_total", label, String(stats.errors))
            add("storegate_store_reconnects_total", label, String(stats.reconnects))
            add("storegate_store_node_up", label, node.isUp ? "1" : "0")
        }
        if store.isCluster {
            let cluster = store.clusterStats
            for (kind, count) in [("moved", cluster.moved), ("ask", cluster.asked), ("tryagain", cluster.tryAgain), ("clusterdown", cluster.clusterDown)] {
                add("storegate_cluster_redirects_total", "kind=\"\(kind)\"", String(count))
            }
            add("storegate_cluster_slots_uncovered", "", String(store.uncoveredSlots))
            add("storegate_cluster_topology_refreshes_total", "", String(cluster.refreshes))
        }
        var text = ""
        for definition in Self.table {
            text += "# HELP \(definition.name) \(definition.help)\n# TYPE \(definition.name) \(definition.kind.rawValue)\n"
            for line in samples[definition.name] ?? [] { text += line + "\n" }
        }
        return text
    }

    private func quote(_ value: String) -> String {
        var out = "\""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}
