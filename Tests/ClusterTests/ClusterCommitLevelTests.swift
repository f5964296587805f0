import Foundation
import Store
import TestSupport
import XCTest

/// Masters SIGKILLed one after another under a write load, each time until a replica
/// took over and the killed node rejoined as a replica. Writes acknowledged with
/// `commit=replicas` must all survive every failover; the same load with
/// `commit=master`, side by side, reports what it lost (Redis replicates
/// asynchronously, so it may lose the last writes before a kill). Failovers:
/// `STOREGATE_TEST_FAILOVERS` (default 10).
final class ClusterCommitLevelTests: XCTestCase {
    private static let keysPerThread = 60

    func testReplicasWritesSurviveRepeatedMasterKills() throws {
        let failovers = Int(ProcessInfo.processInfo.environment["STOREGATE_TEST_FAILOVERS"] ?? "") ?? 10
        let cluster = try RedisCluster(nodeTimeoutMs: 1000, extraArguments: ["--repl-diskless-sync-delay", "0"])
        defer { cluster.stop() }
        let gateway = try startGateway(cluster, ["--cluster-refresh-ms", "500"])
        defer { gateway.stop() }
        let logs = (replicas: LoadLog(), master: LoadLog())
        var checked = (replicas: 0, master: 0)
        var lost = (replicas: [String](), master: [String]())
        let port = gateway.port

        for round in 0..<failovers {
            let victim = try XCTUnwrap(cluster.masters.sorted { $0.port < $1.port }[safe: round % 3])
            // Threads 0, 1 write with commit=replicas, 2, 3 with commit=master, each its own keys.
            nonisolated(unsafe) let clients = (0..<4).map { _ in GatewayClient(port: port) }
            let load = LoadThreads(threads: 4) { thread, iteration in
                let level = thread < 2 ? "replicas" : "master"
                let log = thread < 2 ? logs.replicas : logs.master
                let key = "\(level)-\(thread)-\(iteration % Self.keysPerThread)"
                let value = "r\(round)-i\(iteration)"
                let put = try? clients[thread].call(
                    "PUT", "/v1/kv/test/commit/\(key)?commit=\(level)", json: #"{"bins":{"v":"\#(value)"}}"#)
                log.record(put, "PUT \(key)")
                log.wrote(key, value, put)
            }
            Thread.sleep(forTimeInterval: 0.4)
            victim.kill()
            let killedAt = Date()
            let failedOver = eventually(within: 30) {
                let owners = cluster.mastersBySlot()
                return owners.count == 16384 && !owners.values.contains(victim.port)
            }
            Thread.sleep(forTimeInterval: 0.3)
            load.stop()
            let failedOverAt = Date()
            XCTAssertTrue(failedOver, "round \(round): no replica took over from \(victim.port)")
            guard failedOver else { break }
            // The killed node comes back empty and rejoins as the new master's replica.
            try victim.start()
            XCTAssertTrue(cluster.waitUntilHealthy(within: 30, replicas: 3), "round \(round): not healthy again")
            XCTAssertTrue(
                eventually(within: 15) { Self.gatewaySeesEveryMasterWithAReplica(gateway, dead: victim.port) },
                "round \(round): the gateway's topology never caught up")

            print(
                String(
                    format: "round %d: killed %d; failed over in %.1f s, rejoined in %.1f s", round, victim.port,
                    failedOverAt.timeIntervalSince(killedAt), Date().timeIntervalSince(failedOverAt)))
            // Every write acknowledged so far reads back with its value (or, after a
            // later in-doubt write to the same key, with one of the values it may hold).
            let reader = GatewayClient(port: port)
            for (log, isReplicas) in [(logs.replicas, true), (logs.master, false)] {
                for (key, value) in log.acknowledged {
                    // A node the gateway just lost may answer 5xx for a moment: ask again.
                    var response = try reader.call("GET", "/v1/kv/test/commit/\(key)")
                    for _ in 0..<50 where response.status >= 500 {
                        Thread.sleep(forTimeInterval: 0.1)
                        response = try reader.call("GET", "/v1/kv/test/commit/\(key)")
                    }
                    let read = response.status == 200 ? GatewayClient.value(response) : nil
                    let possible = log.possible[key] ?? [value]
                    if isReplicas { checked.replicas += 1 } else { checked.master += 1 }
                    if let read, possible.contains(read) { continue }
                    let loss =
                        "round \(round): \(key) acknowledged \(value), read \(read ?? "status \(response.status)")"
                    if isReplicas { lost.replicas.append(loss) } else { lost.master.append(loss) }
                }
            }
        }
        print(
            """
            commit levels under \(failovers) failovers: commit=replicas: \(checked.replicas) acknowledged-write \
            read-backs, \(lost.replicas.count) lost, statuses \(logs.replicas.statuses); commit=master: \
            \(checked.master) read-backs, \(lost.master.count) lost \(lost.master.prefix(5)), statuses \
            \(logs.master.statuses)
            """)
        XCTAssertEqual(lost.replicas, [], "commit=replicas writes lost in a failover")
        XCTAssertEqual(logs.replicas.unclearErrors, [], "every failure has an error code")
        XCTAssertGreaterThan(logs.replicas.acknowledged.count, Self.keysPerThread, "the replicas load made progress")
        XCTAssertGreaterThan(checked.replicas, failovers * Self.keysPerThread)
    }

    /// `/v1/cluster` lists no node at `dead`'s port and gives every master a replica.
    private static func gatewaySeesEveryMasterWithAReplica(_ gateway: GatewayProcess, dead: UInt16) -> Bool {
        guard let view = try? gateway.get("/v1/cluster").json, let nodes = view["nodes"] as? [[String: Any]] else {
            return false
        }
        let masters = nodes.filter { $0["role"] as? String == "master" }
        return masters.count == 3 && masters.allSatisfy { ($0["replicas"] as? Int ?? 0) >= 1 }
            && !masters.contains { ($0["address"] as? String) == "127.0.0.1:\(dead)" }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
