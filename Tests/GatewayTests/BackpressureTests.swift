import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The four backpressure layers, metrics and the access log, against the real binary
/// and a real redis-server.
final class BackpressureTests: XCTestCase {
    private func put(_ gateway: GatewayProcess, _ key: String, _ value: String) throws {
        let body = #"{"bins":{"v":"\#(value)"}}"#
        let response = try gateway.request(
            "PUT /v1/kv/bp/s/\(key) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        XCTAssertTrue([200, 201].contains(response.status), response.description)
    }

    /// Store stalled while ten times the capacity arrives: memory stays bounded, the
    /// excess is refused fast with 503 + Retry-After, and after the store resumes every
    /// admitted request completes with the right answer.
    func testStalledStoreUnderTenTimesCapacity() throws {
        raiseDescriptorLimit()
        let redis = try RedisServer()
        let capacity = 20
        let gateway = try GatewayProcess(arguments: [
            "--store", redis.url, "--access-log", "off",
            "--max-requests-in-progress", String(capacity), "--admission-timeout-ms", "200",
            "--max-conns-per-node", "2", "--max-pipeline-per-conn", "4", "--max-queued-per-node", "8",
            "--store-timeout-ms", "10000", "--max-pipelined-requests", "4",
        ])
        for index in 0..<40 { try put(gateway, "k\(index)", "value-\(index)") }
        let rssBefore = try XCTUnwrap(residentBytes(pid: gateway.pid))
        redis.pause()

        let clients = try (0..<50).map { _ in try gateway.connect(timeout: 15) }
        let start = Date()
        for (index, client) in clients.enumerated() {
            let requests = (0..<4).map { "GET /v1/kv/bp/s/k\((index * 4 + $0) % 40) HTTP/1.1\r\nHost: t\r\n\r\n" }
            try client.send(requests.joined())
        }
        // Refusals arrive while the store is still stalled.
        var refusedFast = 0
        var consumed = [Int](repeating: 0, count: clients.count)
        for (index, client) in clients.prefix(10).enumerated() {
            client.setTimeout(1)
            guard let response = client.readResponse() else { continue }
            consumed[index] = 1
            XCTAssertEqual(response.status, 503, "only refusals can arrive while the store is stalled")
            XCTAssertEqual(response.header("Retry-After"), "1")
            XCTAssertEqual(response.errorCode, "overloaded")
            refusedFast += 1
        }
        XCTAssertGreaterThan(refusedFast, 0, "excess requests are refused while the store is stalled")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        let rssDuring = try XCTUnwrap(residentBytes(pid: gateway.pid))
        // Bound from the limits: capacity × (request + response) plus one parked request
        // and a read slab per connection, far below 8 MiB; allocator slack included.
        XCTAssertLessThan(rssDuring - rssBefore, 8 << 20, "RSS grew \(rssDuring - rssBefore) bytes")
        redis.resume()

        var statuses: [Int: Int] = [:]
        for (index, client) in clients.enumerated() {
            client.setTimeout(15)
            for request in consumed[index]..<4 {
                guard let response = client.readResponse() else { break }
                statuses[response.status, default: 0] += 1
                if response.status == 200 {
                    let key = (index * 4 + request) % 40
                    XCTAssertEqual((response.json?["bins"] as? [String: Any])?["v"] as? String, "value-\(key)")
                }
            }
        }
        XCTAssertEqual(Set(statuses.keys).subtracting([200, 503]), [], "\(statuses)")
        XCTAssertGreaterThan(statuses[200] ?? 0, 0, "admitted requests completed: \(statuses)")
        let metrics = try gateway.get("/metrics").bodyText
        let layer2 = metricValue(metrics, "storegate_layer2_rejected_total")
        let layer3 = metricValue(
            metrics, "storegate_layer3_store_rejected_total{node=\"127.0.0.1:\(redis.port)\",reason=\"overloaded\"}")
        XCTAssertEqual(
            layer2 + layer3, (statuses[503] ?? 0) + refusedFast, "every 503 is counted by the layer that shed it")
        XCTAssertTrue(metrics.contains("storegate_layer2_capacity \(capacity)"))
    }

    /// A client that sends and never reads is not read past the layer-4 limit, others
    /// are unaffected, and it is reset after the slow-reader timeout.
    func testClientThatNeverReads() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: [
            "--store", redis.url, "--access-log", "off", "--max-unsent-bytes", "65536",
            "--slow-reader-timeout-ms", "1000",
        ])
        let big = String(repeating: "x", count: 500_000)
        try put(gateway, "big", big)
        let rssBefore = try XCTUnwrap(residentBytes(pid: gateway.pid))
        let stuck = try gateway.connect()
        var small: Int32 = 4096
        setsockopt(stuck.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try stuck.send(String(repeating: "GET /v1/kv/bp/s/big HTTP/1.1\r\nHost: t\r\n\r\n", count: 200))
        usleep(500_000)
        XCTAssertEqual(try gateway.get("/healthz").status, 200, "other clients are served")
        let rssStuck = try XCTUnwrap(residentBytes(pid: gateway.pid))

        // 200 responses of 500 KB would be 100 MB; layer 4 keeps it to a few. Under
        // AddressSanitizer freed blocks stay resident in its quarantine, up to the size
        // scripts/asan.sh gives it, on top.
        let bound = (16 << 20) + sanitizerQuarantineBytes
        XCTAssertLessThan(rssStuck - rssBefore, bound, "RSS grew \(rssStuck - rssBefore) bytes")
        XCTAssertTrue(
            eventually(within: 5) {
                (try? gateway.get("/metrics").bodyText.contains("storegate_layer4_slow_reader_resets_total 1")) ?? false
            }, "the stuck client was reset")
        let metrics = try gateway.get("/metrics").bodyText
        XCTAssertFalse(metrics.contains("storegate_layer4_slow_reader_pauses_total 0\n"))
    }

    /// /metrics shows the unsent output a client that does not read holds: over the
    /// limit and bounded while it stays, nothing once it has gone.
    func testUnsentOutputIsShownInMetrics() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let gateway = try GatewayProcess(arguments: [
            "--store", redis.url, "--access-log", "off", "--max-unsent-bytes", "65536",
            "--slow-reader-timeout-ms", "60000",
        ])
        defer { gateway.stop() }
        try put(gateway, "big", String(repeating: "x", count: 500_000))
        let idle = try gateway.get("/metrics").bodyText
        XCTAssertEqual(metricValue(idle, "storegate_layer4_connections_over_limit"), 0, idle)
        let stuck = try gateway.connect()
        var small: Int32 = 4096
        setsockopt(stuck.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try stuck.send(String(repeating: "GET /v1/kv/bp/s/big HTTP/1.1\r\nHost: t\r\n\r\n", count: 20))
        var held = ""
        let shown = eventually(within: 10) {
            held = (try? gateway.get("/metrics").bodyText) ?? ""
            return metricValue(held, "storegate_layer4_connections_over_limit") == 1
        }
        XCTAssertTrue(shown, held)
        let unsent = metricValue(held, "storegate_layer4_unsent_bytes")
        XCTAssertGreaterThan(unsent, 65536, "the stuck connection's unsent output is counted")
        XCTAssertLessThan(unsent, 16 << 20, "and bounded: 20 responses of 500 KB are not all held")
        stuck.close()
        let released = eventually(within: 10) {
            held = (try? gateway.get("/metrics").bodyText) ?? ""
            return metricValue(held, "storegate_layer4_unsent_bytes") == 0
                && metricValue(held, "storegate_layer4_connections_over_limit") == 0
        }
        XCTAssertTrue(released, held)
    }

    /// A client that pipelines thousands of GETs and never reads: the gateway stops
    /// parsing once its output is past the limit, so the store serves a fraction of
    /// them, memory stays bounded, and the connection is reset one slow-reader timeout
    /// after it stuck, not before.
    func testAPipeliningClientThatNeverReadsIsBoundedThenReset() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: [
            "--store", redis.url, "--access-log", "off", "--slow-reader-timeout-ms", "1000",
        ])
        try put(gateway, "four-k", String(repeating: "x", count: 4000))
        let readsBefore = try redis.commandCalls("hgetall")
        let rssBefore = try XCTUnwrap(residentBytes(pid: gateway.pid))
        let stuck = try gateway.connect()
        let requests = 5000
        let bytes = Array(String(repeating: "GET /v1/kv/bp/s/four-k HTTP/1.1\r\nHost: t\r\n\r\n", count: requests).utf8)
        var offset = 0
        let start = Date()
        // Without blocking: the gateway stops reading the client once it is over the limit.
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes {
                Glibc.send(stuck.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            guard n > 0 else { break }
            offset += n
        }
        XCTAssertTrue(
            eventually(within: 10) {
                (try? gateway.get("/metrics").bodyText.contains("storegate_layer4_slow_reader_resets_total 1")) ?? false
            }, "the stuck client was reset")
        let stuckFor = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(stuckFor, 1, "reset only after the slow-reader timeout")
        let served = try redis.commandCalls("hgetall") - readsBefore
        // 20 MB of answers; the socket buffers (about 4 MB here) and the pipeline hold far fewer.
        XCTAssertLessThan(served, requests / 2, "GETs the store served for a client that never read")
        let grown = try XCTUnwrap(residentBytes(pid: gateway.pid)) - rssBefore
        if !underSanitizer { XCTAssertLessThan(grown, 16 << 20, "RSS grew \(grown) bytes") }
        XCTAssertTrue(stuck.waitForClose(), "the client sees the reset")
        print("served \(served) of \(requests) GETs; reset after \(stuckFor) s; RSS grew \(grown) bytes")
        XCTAssertEqual(try gateway.get("/healthz").status, 200)
    }

    func testTextLogFormat() throws {
        let gateway = try GatewayProcess(arguments: ["--log-format", "text"])
        _ = try gateway.request("GET /nope HTTP/1.1\r\nHost: t\r\nX-Request-Id: text-1\r\n\r\n")
        XCTAssertTrue(
            eventually { gateway.output.contains("GET unmatched 404") && gateway.output.contains("id=text-1") },
            gateway.output)
        XCTAssertTrue(gateway.log.contains(" info listening address="), gateway.log)
        XCTAssertFalse(gateway.output.contains("{"), "no JSON in text mode")
    }

    /// Scrape, act, scrape, compare: layer 1 pauses and request counters move.
    func testMetricsMoveWithLayerOne() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: [
            "--store", redis.url, "--max-pipelined-requests", "2", "--access-log", "off",
        ])
        let before = try gateway.get("/metrics").bodyText
        let client = try gateway.connect()
        try client.send(String(repeating: "GET /v1/kv/bp/s/none HTTP/1.1\r\nHost: t\r\n\r\n", count: 20))
        for _ in 0..<20 { XCTAssertEqual(client.readResponse()?.status, 404) }
        let after = try gateway.get("/metrics").bodyText
        let pauses = "storegate_layer1_pipeline_pauses_total"
        XCTAssertGreaterThan(metricValue(after, pauses), metricValue(before, pauses))
        let notFound = #"storegate_http_requests_total{route="/v1/kv/{ns}/{set}/{key}",method="GET",status="404"}"#
        XCTAssertEqual(metricValue(after, notFound) - metricValue(before, notFound), 20)
        let commands = "storegate_store_commands_total{node=\"127.0.0.1:\(redis.port)\"}"
        // 20 reads, plus the first EVALSHA's NOSCRIPT resend as EVAL on a fresh redis.
        XCTAssertTrue((20...22).contains(metricValue(after, commands) - metricValue(before, commands)))
    }

    func testMetricsAccessLogAndRequestIDs() throws {
        let redis = try RedisServer()
        let gateway = try GatewayProcess(arguments: ["--store", redis.url])
        try put(gateway, "m", "1")
        let response = try gateway.request("GET /v1/kv/bp/s/m HTTP/1.1\r\nHost: t\r\nX-Request-Id: trace-42\r\n\r\n")
        XCTAssertEqual(response.header("X-Request-Id"), "trace-42", "accepted and echoed")
        let missing = try gateway.request("GET /v1/kv/bp/s/none HTTP/1.1\r\nHost: t\r\nX-Request-Id: trace-43\r\n\r\n")
        XCTAssertEqual((missing.json?["error"] as? [String: Any])?["request_id"] as? String, "trace-43")
        let generated = try gateway.get("/healthz")
        XCTAssertFalse((generated.header("X-Request-Id") ?? "").isEmpty, "generated when absent")
        let bad = try gateway.request("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: has space\r\n\r\n")
        XCTAssertNotEqual(bad.header("X-Request-Id"), "has space", "unsafe ids are replaced")

        let metrics = try gateway.get("/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.header("Content-Type")?.hasPrefix("text/plain") ?? false)
        let text = metrics.bodyText
        for needle in [
            #"storegate_http_requests_total{route="/v1/kv/{ns}/{set}/{key}",method="GET",status="200"} 1"#,
            #"storegate_http_requests_total{route="/v1/kv/{ns}/{set}/{key}",method="GET",status="404"} 1"#,
            #"storegate_http_requests_total{route="/v1/kv/{ns}/{set}/{key}",method="PUT",status="201"} 1"#,
            "# TYPE storegate_http_request_duration_seconds histogram",
            #"storegate_http_request_duration_seconds_bucket{route="/v1/kv/{ns}/{set}/{key}",le="+Inf"} 3"#,
            "storegate_layer3_store_connections_open{node=\"127.0.0.1:\(redis.port)\"} 1",
            "storegate_store_node_up{node=\"127.0.0.1:\(redis.port)\"} 1",
            "storegate_layer1_pipeline_pauses_total", "storegate_layer4_slow_reader_pauses_total",
        ] {
            XCTAssertTrue(text.contains(needle), "metrics lack \(needle)\n\(text)")
        }

        XCTAssertTrue(eventually { gateway.output.contains("trace-43") })
        let lines = gateway.output.split(separator: "\n")
        let entries = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(entries.count, lines.count, "every access-log line is JSON")
        let entry = try XCTUnwrap(entries.first { $0["request_id"] as? String == "trace-42" })
        XCTAssertEqual(entry["route"] as? String, "/v1/kv/{ns}/{set}/{key}")
        XCTAssertEqual(entry["status"] as? Int, 200)
        XCTAssertEqual(entry["method"] as? String, "GET")
        XCTAssertNotNil(entry["duration_ms"])
        XCTAssertGreaterThan(entry["bytes_out"] as? Int ?? 0, 0)
        XCTAssertNotNil(entry["time"] as? String)
    }
}

/// The value of one sample line `name{labels} value` in a Prometheus text page (0 if absent).
func metricValue(_ text: String, _ series: String) -> Int {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Int(line.dropFirst(series.count + 1)) ?? 0
    }
    return 0
}

/// `quarantine_size_mb` of ASAN_OPTIONS (the gateway processes inherit it), else 0.
var sanitizerQuarantineBytes: Int {
    let options = ProcessInfo.processInfo.environment["ASAN_OPTIONS"] ?? ""
    for option in options.split(separator: ":") where option.hasPrefix("quarantine_size_mb=") {
        return (Int(option.dropFirst("quarantine_size_mb=".count)) ?? 0) << 20
    }
    return 0
}

/// True under scripts/asan.sh (either sanitizer). Their allocators keep freed blocks
/// and their shadow resident, so a gateway's RSS there grows with the bytes that passed
/// through it, not with what it holds: RSS bounds are checked in plain builds, and the
/// store's own counts bound the work in every build.
var underSanitizer: Bool {
    let environment = ProcessInfo.processInfo.environment
    return environment["ASAN_OPTIONS"] != nil || environment["TSAN_OPTIONS"] != nil
}

func raiseDescriptorLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
