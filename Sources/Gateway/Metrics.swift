internal import EventLoop
package import HTTP
internal import Store

/// Everything /metrics shows, declared once as an enum (name, kind, help) and
/// rendered in the Prometheus text format. Values are plain integers updated on the
/// loop thread: no locks, which is why this is hand-written rather than built on
/// swift-metrics/swift-prometheus (whose registries lock on every update).
package final class Metrics {
    enum Kind: String { case counter, gauge, histogram }

    /// Every metric /metrics shows, in the order it shows them. A sample can only be
    /// added under one of these names, so a typo is a compile error, not a new series.
    enum Name: String, CaseIterable {
        case workerInfo = "storegate_worker_info"
        case httpRequestsTotal = "storegate_http_requests_total"
        case httpRequestDurationSeconds = "storegate_http_request_duration_seconds"
        case httpReceivedBodyBytesTotal = "storegate_http_received_body_bytes_total"
        case httpSentBytesTotal = "storegate_http_sent_bytes_total"
        case httpConnectionsOpen = "storegate_http_connections_open"
        case httpConnectionsAcceptedTotal = "storegate_http_connections_accepted_total"
        case httpConnectionsRefusedTotal = "storegate_http_connections_refused_total"
        case httpRefusedRequestsTotal = "storegate_http_refused_requests_total"
        case layer1PipelinePausesTotal = "storegate_layer1_pipeline_pauses_total"
        case layer2RequestsInProgress = "storegate_layer2_requests_in_progress"
        case layer2Capacity = "storegate_layer2_capacity"
        case layer2Waiting = "storegate_layer2_waiting"
        case layer2RejectedTotal = "storegate_layer2_rejected_total"
        case layer3StoreConnectionsOpen = "storegate_layer3_store_connections_open"
        case layer3StoreConnectionsMax = "storegate_layer3_store_connections_max"
        case layer3StoreCommandsInFlight = "storegate_layer3_store_commands_in_flight"
        case layer3StoreQueueDepth = "storegate_layer3_store_queue_depth"
        case layer3StoreQueueMax = "storegate_layer3_store_queue_max"
        case layer3StoreRejectedTotal = "storegate_layer3_store_rejected_total"
        case storeCommandsTotal = "storegate_store_commands_total"
        case storeTimeoutsTotal = "storegate_store_timeouts_total"
        case storeErrorsTotal = "storegate_store_errors_total"
        case storeReconnectsTotal = "storegate_store_reconnects_total"
        case storeNodeUp = "storegate_store_node_up"
        case clusterRedirectsTotal = "storegate_cluster_redirects_total"
        case clusterSlotsUncovered = "storegate_cluster_slots_uncovered"
        case clusterTopologyRefreshesTotal = "storegate_cluster_topology_refreshes_total"
        case layer4UnsentBytes = "storegate_layer4_unsent_bytes"
        case layer4ConnectionsOverLimit = "storegate_layer4_connections_over_limit"
        case layer4SlowReaderPausesTotal = "storegate_layer4_slow_reader_pauses_total"
        case layer4SlowReaderResetsTotal = "storegate_layer4_slow_reader_resets_total"

        /// Prometheus naming: counters end in `_total`; the one histogram is in seconds.
        var kind: Kind {
            if rawValue.hasSuffix("_total") { return .counter }
            return self == .httpRequestDurationSeconds ? .histogram : .gauge
        }

        var help: String {
            switch self {
            case .workerInfo: "1, labelled with the worker process id (1 when single-process)."
            case .httpRequestsTotal: "Responses by route template, method and status."
            case .httpRequestDurationSeconds: "Time from a complete request to its response being queued, by route."
            case .httpReceivedBodyBytesTotal: "Request body bytes received."
            case .httpSentBytesTotal: "Response bytes queued for sending."
            case .httpConnectionsOpen: "Client connections open."
            case .httpConnectionsAcceptedTotal: "Client connections accepted."
            case .httpConnectionsRefusedTotal: "Connections closed at once because max_connections was reached."
            case .httpRefusedRequestsTotal:
                "Malformed, oversized or timed-out requests answered with an error and a close."
            case .layer1PipelinePausesTotal:
                "Layer 1: times a connection stopped being read at its pipelined-request cap."
            case .layer2RequestsInProgress: "Layer 2: requests being handled."
            case .layer2Capacity: "Layer 2: max_requests_in_progress."
            case .layer2Waiting: "Layer 2: requests waiting for capacity."
            case .layer2RejectedTotal: "Layer 2: requests answered 503 after waiting past the admission timeout."
            case .layer3StoreConnectionsOpen: "Layer 3: backend connections open, per store node."
            case .layer3StoreConnectionsMax: "Layer 3: max_conns_per_node."
            case .layer3StoreCommandsInFlight: "Layer 3: commands sent or queued and not yet answered, per node."
            case .layer3StoreQueueDepth: "Layer 3: commands waiting in the node queue."
            case .layer3StoreQueueMax: "Layer 3: max_queued_per_node."
            case .layer3StoreRejectedTotal: "Layer 3: commands refused at once, by reason (overloaded, node_down)."
            case .storeCommandsTotal: "Commands accepted, per node."
            case .storeTimeoutsTotal: "Commands that passed their deadline, per node."
            case .storeErrorsTotal: "Backend connection failures, per node."
            case .storeReconnectsTotal: "Reconnect probes after a node went down, per node."
            case .storeNodeUp: "1 when the node is usable, 0 while it is down."
            case .clusterRedirectsTotal:
                "Redis Cluster: redirect replies followed, by kind (moved, ask, tryagain, clusterdown)."
            case .clusterSlotsUncovered: "Redis Cluster: slots with no live master (readyz is 503 meanwhile)."
            case .clusterTopologyRefreshesTotal: "Redis Cluster: CLUSTER SLOTS answers applied."
            case .layer4UnsentBytes:
                "Layer 4: response bytes written to client connections and not yet sent, summed over connections."
            case .layer4ConnectionsOverLimit: "Layer 4: client connections holding more than max_unsent_bytes unsent."
            case .layer4SlowReaderPausesTotal:
                "Layer 4: times a client was not read because its unsent responses passed max_unsent_bytes."
            case .layer4SlowReaderResetsTotal:
                "Layer 4: clients reset after staying stuck past the slow-reader timeout."
            }
        }
    }

    /// Upper bounds in seconds.
    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    private static let bucketNanoseconds: [UInt64] = latencyBuckets.map { UInt64($0 * 1_000_000_000) }

    private struct Histogram {
        var buckets = [Int](repeating: 0, count: Metrics.latencyBuckets.count)
        var count = 0
        var sumNanoseconds: UInt64 = 0
    }

    /// One route template's responses: a count per (method, status), few per route and
    /// found by a short scan, and its latency histogram.
    private struct RouteSeries {
        let route: String
        var counts: [(method: String, status: Int, count: Int)] = []
        var histogram = Histogram()

        mutating func count(method: String, status: Int) {
            for index in counts.indices where counts[index].status == status && counts[index].method == method {
                counts[index].count += 1
                return
            }
            counts.append((method, status, 1))
        }
    }

    private var series: [RouteSeries] = []
    private var seriesByRoute: [String: Int] = [:]
    /// The series the previous response went to: a run of one route skips the lookup
    /// (templates are the router's own strings, so equal ones compare by identity).
    private var lastRoute = ""
    private var lastSeries = -1
    private var receivedBytes = 0
    private var sentBytes = 0
    /// The `--workers` process this is (metrics are per process).
    package var workerID: Int?

    package init() {}

    package func record(_ summary: ResponseSummary) {
        let index = seriesIndex(summary.route)
        series[index].count(method: summary.method, status: summary.status)
        var bucket = 0
        while bucket < Self.bucketNanoseconds.count, summary.durationNanoseconds > Self.bucketNanoseconds[bucket] {
            bucket += 1
        }
        if bucket < Self.bucketNanoseconds.count { series[index].histogram.buckets[bucket] += 1 }
        series[index].histogram.count += 1
        series[index].histogram.sumNanoseconds &+= summary.durationNanoseconds
        receivedBytes += summary.bytesIn
        sentBytes += summary.bytesOut
    }

    private func seriesIndex(_ route: String) -> Int {
        if lastSeries >= 0, route == lastRoute { return lastSeries }
        let index: Int
        if let known = seriesByRoute[route] {
            index = known
        } else {
            index = series.count
            series.append(RouteSeries(route: route))
            seriesByRoute[route] = index
        }
        lastRoute = route
        lastSeries = index
        return index
    }

    /// The Prometheus text exposition of every metric in `Name`.
    func render(server: HTTPServer, store: Store) -> String {
        var samples: [Name: [String]] = [:]
        func add(_ metric: Name, _ labels: String, _ value: String) {
            let name = metric.rawValue
            samples[metric, default: []].append(labels.isEmpty ? "\(name) \(value)" : "\(name){\(labels)} \(value)")
        }
        let requests = series.flatMap { one in
            one.counts.map { (route: one.route, method: $0.method, status: $0.status, count: $0.count) }
        }
        for key in requests.sorted(by: { ($0.route, $0.method, $0.status) < ($1.route, $1.method, $1.status) }) {
            add(
                .httpRequestsTotal, "route=\(quote(key.route)),method=\(quote(key.method)),status=\"\(key.status)\"",
                String(key.count))
        }
        let histogramName = Name.httpRequestDurationSeconds.rawValue
        for (route, histogram) in series.map({ ($0.route, $0.histogram) }).sorted(by: { $0.0 < $1.0 }) {
            var cumulative = 0
            for (index, bound) in Self.latencyBuckets.enumerated() {
                cumulative += histogram.buckets[index]
                samples[.httpRequestDurationSeconds, default: []].append(
                    "\(histogramName)_bucket{route=\(quote(route)),le=\"\(bound)\"} \(cumulative)")
            }
            samples[.httpRequestDurationSeconds, default: []] += [
                "\(histogramName)_bucket{route=\(quote(route)),le=\"+Inf\"} \(histogram.count)",
                "\(histogramName)_sum{route=\(quote(route))} \(Double(histogram.sumNanoseconds) / 1e9)",
                "\(histogramName)_count{route=\(quote(route))} \(histogram.count)",
            ]
        }
        add(.workerInfo, "worker=\"\(workerID ?? 1)\"", "1")
        add(.httpReceivedBodyBytesTotal, "", String(receivedBytes))
        add(.httpSentBytesTotal, "", String(sentBytes))
        let connections = server.connectionStats
        add(.httpConnectionsOpen, "", String(server.connectionCount))
        add(.httpConnectionsAcceptedTotal, "", String(connections.accepted))
        add(.httpConnectionsRefusedTotal, "", String(server.refusedConnections))
        add(.httpRefusedRequestsTotal, "", String(connections.refusedRequests))
        add(.layer1PipelinePausesTotal, "", String(connections.pipelinePauses))
        add(.layer2RequestsInProgress, "", String(server.admission.inProgress))
        add(.layer2Capacity, "", String(server.limits.maxRequestsInProgress))
        add(.layer2Waiting, "", String(server.admission.waitingCount))
        add(.layer2RejectedTotal, "", String(server.admission.stats.rejected))
        let unsent = server.unsentOutput
        add(.layer4UnsentBytes, "", String(unsent.bytes))
        add(.layer4ConnectionsOverLimit, "", String(unsent.connectionsOverLimit))
        add(.layer4SlowReaderPausesTotal, "", String(connections.slowReaderPauses))
        add(.layer4SlowReaderResetsTotal, "", String(connections.slowReaderResets))
        add(.layer3StoreConnectionsMax, "", String(store.limits.maxConnectionsPerNode))
        add(.layer3StoreQueueMax, "", String(store.limits.maxQueuedPerNode))
        for node in store.nodes {
            let label = "node=\(quote(node.address.description))"
            let stats = node.stats
            add(.layer3StoreConnectionsOpen, label, String(node.openConnections))
            add(.layer3StoreCommandsInFlight, label, String(stats.inFlight))
            add(.layer3StoreQueueDepth, label, String(stats.queued))
            add(.layer3StoreRejectedTotal, label + ",reason=\"overloaded\"", String(stats.rejectedOverloaded))
            add(.layer3StoreRejectedTotal, label + ",reason=\"node_down\"", String(stats.rejectedNodeDown))
            add(.storeCommandsTotal, label, String(stats.submitted))
            add(.storeTimeoutsTotal, label, String(stats.timeouts))
            add(.storeErrorsTotal, label, String(stats.errors))
            add(.storeReconnectsTotal, label, String(stats.reconnects))
            add(.storeNodeUp, label, node.isUp ? "1" : "0")
        }
        if store.isCluster {
            let cluster = store.clusterStats
            for (kind, count) in [
                ("moved", cluster.moved), ("ask", cluster.asked), ("tryagain", cluster.tryAgain),
                ("clusterdown", cluster.clusterDown),
            ] {
                add(.clusterRedirectsTotal, "kind=\"\(kind)\"", String(count))
            }
            add(.clusterSlotsUncovered, "", String(store.uncoveredSlots))
            add(.clusterTopologyRefreshesTotal, "", String(cluster.refreshes))
        }
        var text = ""
        for metric in Name.allCases {
            text += "# HELP \(metric.rawValue) \(metric.help)\n# TYPE \(metric.rawValue) \(metric.kind.rawValue)\n"
            for line in samples[metric] ?? [] { text += line + "\n" }
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
