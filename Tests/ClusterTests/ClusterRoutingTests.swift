import Foundation
import Store
import TestSupport
import XCTest

/// Routing on a real 6-node cluster (3 masters, 3 replicas) shared by every test of
/// the class, through a real gateway process: keys land on their slot's master, batch
/// and scan span every master, the cluster view and readiness, a live ASK and MOVED.
final class ClusterRoutingTests: XCTestCase {
    nonisolated(unsafe) static var cluster: RedisCluster?
    nonisolated(unsafe) static var gateway: GatewayProcess?
    nonisolated(unsafe) static var setupError: (any Error)?

    override class func setUp() {
        do {
            let cluster = try RedisCluster()
            Self.cluster = cluster
            gateway = try startGateway(cluster)
        } catch {
            setupError = error
        }
    }

    override class func tearDown() {
        gateway?.stop()
        gateway = nil
        cluster?.stop()
        cluster = nil
    }

    private func fixture() throws -> (RedisCluster, GatewayProcess, GatewayClient) {
        let cluster = try XCTUnwrap(Self.cluster, "cluster fixture: \(String(describing: Self.setupError))")
        let gateway = try XCTUnwrap(Self.gateway, "gateway fixture: \(String(describing: Self.setupError))")
        return (cluster, gateway, GatewayClient(port: gateway.port))
    }

    func testWritesLandOnTheMasterOwningTheirSlot() throws {
        let (cluster, _, client) = try fixture()
        let count = 1500
        for index in 0..<count {
            let response = try client.put("routing", "k\(index)", value: "value-\(index)")
            XCTAssertEqual(response.status, 201, "k\(index): \(response)")
        }
        let owners = cluster.mastersBySlot()
        XCTAssertEqual(owners.count, 16384)
        var onNode: [UInt16: Set<String>] = [:]
        for master in cluster.masters {
            onNode[master.port] = try keys(on: master, matching: "sg:{test/routing/*}")
        }
        XCTAssertEqual(onNode.count, 3)
        XCTAssertEqual(onNode.values.reduce(0) { $0 + $1.count }, count, "every key exactly once, on masters only")
        for index in 0..<count {
            let key = redisKey("routing", "k\(index)")
            let owner = try XCTUnwrap(owners[HashSlot.of(key)])
            XCTAssertTrue(onNode[owner]?.contains(key) ?? false, "\(key) is not on its slot's master \(owner)")
        }
        for (port, keys) in onNode { XCTAssertGreaterThan(keys.count, count / 6, "master \(port) got few keys") }
        // CLUSTER KEYSLOT agrees with our slot, and a direct read on the owner has the value.
        for index in stride(from: 0, to: count, by: 150) {
            let key = redisKey("routing", "k\(index)")
            let owner = try XCTUnwrap(cluster.server(port: try XCTUnwrap(owners[HashSlot.of(key)])))
            XCTAssertEqual(try owner.cli(["CLUSTER", "KEYSLOT", key]), String(HashSlot.of(key)))
            XCTAssertEqual(try owner.storedBin(key, "v"), "\"value-\(index)\"")
            XCTAssertEqual(GatewayClient.value(try client.get("routing", "k\(index)")), "value-\(index)")
        }
    }

    func testBatchSpreadOverAllMastersIsCorrectAndInOrder() throws {
        let (cluster, _, client) = try fixture()
        let count = 120
        var operations: [String] = (0..<count).map {
            #"{"op":"put","namespace":"test","set":"batch","key":"b\#($0)","bins":{"v":"\#($0)"}}"#
        }
        var response = try client.call(
            "POST", "/v1/batch", json: #"{"operations":[\#(operations.joined(separator: ","))]}"#)
        XCTAssertEqual(response.status, 200, "\(response)")
        var results = try XCTUnwrap(response.json?["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, count)
        for (index, result) in results.enumerated() {
            XCTAssertEqual(result["index"] as? Int, index)
            XCTAssertEqual(result["status"] as? Int, 200)
        }
        let owners = cluster.mastersBySlot()
        let masters = Set((0..<count).compactMap { owners[HashSlot.of(redisKey("batch", "b\($0)"))] })
        XCTAssertEqual(masters.count, 3, "the batch spans every master")
        // Reads in a shuffled order, a missing key and a delete, in one batch.
        let order = (0..<count).shuffled()
        operations = order.map { #"{"op":"get","namespace":"test","set":"batch","key":"b\#($0)"}"# }
        operations.append(#"{"op":"get","namespace":"test","set":"batch","key":"missing"}"#)
        operations.append(#"{"op":"delete","namespace":"test","set":"batch","key":"b0"}"#)
        let body = #"{"operations":[\#(operations.joined(separator: ","))]}"#
        response = try client.call("POST", "/v1/batch", json: body)
        XCTAssertEqual(response.status, 200)
        results = try XCTUnwrap(response.json?["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, count + 2)
        for (position, key) in order.enumerated() {
            let record = results[position]["record"] as? [String: Any]
            XCTAssertEqual(results[position]["index"] as? Int, position)
            XCTAssertEqual((record?["bins"] as? [String: Any])?["v"] as? String, String(key), "item \(position)")
        }
        XCTAssertEqual(results[count]["status"] as? Int, 404)
        XCTAssertEqual(results[count + 1]["status"] as? Int, 204)
        XCTAssertEqual(try client.get("batch", "b0").status, 404)
        // The same reads streamed: every index once, each with its own record.
        let raw =
            "POST /v1/batch HTTP/1.1\r\nHost: t\r\nAccept: application/x-ndjson\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let streamed = try XCTUnwrap(Self.gateway).request(raw)
        let lines = streamed.bodyText.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(lines.count, count + 2)
        XCTAssertEqual(Set(lines.compactMap { $0["index"] as? Int }), Set(0..<(count + 2)))
        for line in lines {
            guard let index = line["index"] as? Int, index < count, index > 0 || order[0] != 0 else { continue }
            let bins = (line["record"] as? [String: Any])?["bins"] as? [String: Any]
            if order[index] != 0 { XCTAssertEqual(bins?["v"] as? String, String(order[index])) }
        }
    }

    func testScanFindsEveryKeyAcrossMasters() throws {
        let (_, _, client) = try fixture()
        let count = 400
        for index in 0..<count { XCTAssertEqual(try client.put("scan", "s\(index)", value: "\(index)").status, 201) }
        var cursor: String? = "0"
        var found: [String: String] = [:]
        var pages = 0
        var sawNodeCursor = false
        while let current = cursor, pages < 1000 {
            let response = try client.call("GET", "/v1/scan/test/scan?count=50&cursor=\(current)")
            XCTAssertEqual(response.status, 200, "\(response)")
            for record in response.json?["records"] as? [[String: Any]] ?? [] {
                let key = try XCTUnwrap(record["key"] as? String)
                found[key] = (record["bins"] as? [String: Any])?["v"] as? String
            }
            cursor = response.json?["cursor"] as? String
            // The node's cursor followed by the master's lowest slot, five digits.
            if let cursor, cursor.count >= 6, let slot = Int(cursor.suffix(5)), slot < 16384 { sawNodeCursor = true }
            pages += 1
        }
        XCTAssertNil(cursor, "the scan ends")
        XCTAssertTrue(sawNodeCursor)
        XCTAssertEqual(found.count, count)
        for index in 0..<count { XCTAssertEqual(found["s\(index)"], "\(index)") }
        XCTAssertEqual(
            try client.call("GET", "/v1/scan/test/scan?cursor=17").status, 400, "a bare node cursor is not ours")
        XCTAssertEqual(try client.call("GET", "/v1/scan/test/scan?cursor=099999").status, 400, "no slot 99999")
        XCTAssertEqual(try client.call("GET", "/v1/scan/test/scan?cursor=1-2").status, 400)
    }

    func testClusterViewAndReadiness() throws {
        let (_, gateway, client) = try fixture()
        XCTAssertEqual(try client.call("GET", "/readyz").status, 200)
        let view = try XCTUnwrap(try gateway.get("/v1/cluster").json)
        XCTAssertEqual(view["mode"] as? String, "cluster")
        XCTAssertEqual(view["slots_uncovered"] as? Int, 0)
        let nodes = try XCTUnwrap(view["nodes"] as? [[String: Any]])
        let masters = nodes.filter { $0["role"] as? String == "master" }
        XCTAssertEqual(masters.count, 3, "replicas get no pool unless reads may go there: \(nodes)")
        var slots = 0
        for master in masters {
            XCTAssertEqual(master["state"] as? String, "up")
            for range in master["slots"] as? [[Int]] ?? [] { slots += range[1] - range[0] + 1 }
        }
        XCTAssertEqual(slots, 16384)
        XCTAssertNotNil(view["redirects"] as? [String: Any])
        let metrics = try gateway.get("/metrics").bodyText
        XCTAssertTrue(metrics.contains("storegate_cluster_slots_uncovered 0"), metrics)
        XCTAssertTrue(metrics.contains("storegate_cluster_redirects_total{kind=\"moved\"}"))
        XCTAssertEqual(metrics.components(separatedBy: "storegate_store_node_up{").count - 1, 3, "one pool per master")
    }

    /// A slot half migrated by hand: the source answers ASK for the key already moved,
    /// the gateway sends ASKING + the script there; once the slot is assigned, MOVED.
    func testAskDuringAMigrationAndMovedAfterIt() throws {
        let (cluster, gateway, client) = try fixture()
        let first = redisKey("ask", "a0")
        let slot = HashSlot.of(first)
        var second = ""
        for index in 1..<2_000_000 where HashSlot.of(redisKey("ask", "a\(index)")) == slot {
            second = "a\(index)"
            break
        }
        XCTAssertFalse(second.isEmpty)
        XCTAssertEqual(try client.put("ask", "a0", value: "first").status, 201)
        XCTAssertEqual(try client.put("ask", second, value: "second").status, 201)
        let owners = cluster.mastersBySlot()
        let source = try XCTUnwrap(cluster.server(port: try XCTUnwrap(owners[slot])))
        let target = try XCTUnwrap(cluster.masters.first { $0.port != source.port })
        let sourceID = try cluster.nodeID(of: source)
        let targetID = try cluster.nodeID(of: target)
        let before = try XCTUnwrap(gateway.get("/v1/cluster").json?["redirects"] as? [String: Int])
        XCTAssertEqual(try target.cli(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceID]), "OK")
        XCTAssertEqual(try source.cli(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID]), "OK")
        XCTAssertEqual(
            try source.cli(["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", first]), "OK")
        // Moved key: ASK to the target; the other key is still served by the source.
        XCTAssertEqual(GatewayClient.value(try client.get("ask", "a0")), "first")
        XCTAssertEqual(GatewayClient.value(try client.get("ask", second)), "second")
        XCTAssertEqual(try client.put("ask", "a0", value: "first-2").status, 200)
        var now = try XCTUnwrap(gateway.get("/v1/cluster").json?["redirects"] as? [String: Int])
        XCTAssertGreaterThanOrEqual(now["ask"]! - before["ask"]!, 2)
        // Finish the migration: the slot belongs to the target; the gateway's map is stale.
        XCTAssertEqual(
            try source.cli([
                "MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", redisKey("ask", second),
            ]),
            "OK")
        for server in cluster.masters {
            _ = try server.cli(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID])
        }
        XCTAssertEqual(GatewayClient.value(try client.get("ask", second)), "second")
        XCTAssertEqual(GatewayClient.value(try client.get("ask", "a0")), "first-2")
        now = try XCTUnwrap(gateway.get("/v1/cluster").json?["redirects"] as? [String: Int])
        XCTAssertGreaterThanOrEqual(now["moved"]! - before["moved"]!, 1)
        XCTAssertTrue(cluster.waitUntilHealthy(within: 20))
        XCTAssertEqual(cluster.mastersBySlot()[slot], target.port)
        XCTAssertEqual(try target.storedBin(first, "v"), "\"first-2\"", "the write through ASK is on the target")
        XCTAssertEqual(try source.cli(["CLUSTER", "COUNTKEYSINSLOT", String(slot)]), "0")
    }

    /// A record still on the source of a migrating slot: a replace and an operate run
    /// there and keep it. (Scripts that did DEL then HSET lost it: the HSET on a key gone
    /// from a migrating slot is refused mid-script, and the DEL stays: 502 and no record.)
    func testWritesToARecordStillOnAMigratingSourceKeepIt() throws {
        let (cluster, _, client) = try fixture()
        let key = redisKey("migrating", "k")
        let slot = HashSlot.of(key)
        XCTAssertEqual(
            try client.call("PUT", "/v1/kv/test/migrating/k", json: #"{"bins":{"v":"one","old":1}}"#).status, 201)
        let source = try XCTUnwrap(cluster.server(port: try XCTUnwrap(cluster.mastersBySlot()[slot])))
        let target = try XCTUnwrap(cluster.masters.first { $0.port != source.port })
        XCTAssertEqual(
            try target.cli(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", try cluster.nodeID(of: source)]), "OK")
        XCTAssertEqual(
            try source.cli(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", try cluster.nodeID(of: target)]), "OK")
        defer {
            for server in [source, target] { _ = try? server.cli(["CLUSTER", "SETSLOT", String(slot), "STABLE"]) }
        }

        let replaced = try client.call("PUT", "/v1/kv/test/migrating/k", json: #"{"bins":{"v":"two"}}"#)
        XCTAssertEqual(replaced.status, 200, "\(replaced)")
        XCTAssertEqual(try source.storedBin(key, "v"), #""two""#)
        XCTAssertFalse(try source.storedBinNames(key).contains("old"), "a replace drops the bins it does not name")
        let operated = try client.call(
            "POST", "/v1/kv/test/migrating/k/operate",
            json: #"{"operations":[{"op":"put","bin":"n","value":5},{"op":"delete_bin","bin":"v"}]}"#)
        XCTAssertEqual(operated.status, 200, "\(operated)")
        XCTAssertEqual(try source.storedBin(key, "n"), "5")
        XCTAssertFalse(try source.storedBinNames(key).contains("v"))
        XCTAssertEqual(try source.cli(["HGET", key, "_gen"]), "3")
        XCTAssertEqual(try target.cli(["CLUSTER", "COUNTKEYSINSLOT", String(slot)]), "0", "nothing went to the target")
    }

    func testReadsFromReplicas() throws {
        let (cluster, _, client) = try fixture()
        let replicaGateway = try startGateway(cluster, ["--read-from-replicas", "on"])
        defer { replicaGateway.stop() }
        let replicaClient = GatewayClient(port: replicaGateway.port)
        var nodes: [[String: Any]] = []
        func replicas() -> [[String: Any]] {
            nodes = (try? replicaGateway.get("/v1/cluster"))?.json?["nodes"] as? [[String: Any]] ?? []
            return nodes.filter { $0["role"] as? String == "replica" }
        }
        XCTAssertTrue(eventually(within: 15) { replicas().count == 3 }, "\(nodes)")
        for index in 0..<60 { XCTAssertEqual(try client.put("replica", "r\(index)", value: "\(index)").status, 201) }
        for index in 0..<60 {
            // Replication is asynchronous: a replica may lag a moment behind its master.
            XCTAssertTrue(
                eventually(within: 5) {
                    (try? replicaClient.get("replica", "r\(index)")).flatMap(GatewayClient.value) == "\(index)"
                }, "r\(index)")
        }
        XCTAssertEqual(
            try replicaClient.put("replica", "written", value: "w").status, 201, "writes still go to masters")
        XCTAssertGreaterThanOrEqual(
            replicas().reduce(0) { $0 + ($1["commands"] as? Int ?? 0) }, 60, "reads went to replicas")
        let masterPorts = Set(cluster.masters.map(\.port))
        for server in cluster.servers where !masterPorts.contains(server.port) {
            let clients = try server.cli(["CLIENT", "LIST"]).split(separator: "\n").filter {
                $0.contains("name=storegate")
            }
            XCTAssertFalse(clients.isEmpty)
            XCTAssertTrue(clients.allSatisfy { $0.contains("flags=r") }, "replica connections are READONLY: \(clients)")
        }
    }

    /// A slot no node serves: /readyz says 503 and a request for it gets 503
    /// cluster_unavailable once CLUSTERDOWN retries run out; served again, ready again.
    func testUncoveredSlotMakesReadyz503() throws {
        let (cluster, gateway, client) = try fixture()
        let key = redisKey("down", "d0")
        let slot = HashSlot.of(key)
        let owner = try XCTUnwrap(cluster.server(port: try XCTUnwrap(cluster.mastersBySlot()[slot])))
        XCTAssertEqual(try client.put("down", "d0", value: "x").status, 201)
        XCTAssertEqual(try owner.cli(["DEL", key]), "1")  // an empty slot can be unassigned
        for server in cluster.servers { _ = try server.cli(["CLUSTER", "DELSLOTS", String(slot)]) }
        defer {
            _ = try? owner.cli(["CLUSTER", "ADDSLOTS", String(slot)])
            XCTAssertTrue(cluster.waitUntilHealthy(within: 30))
        }
        XCTAssertTrue(eventually(within: 10) { (try? client.call("GET", "/readyz"))?.status == 503 })
        XCTAssertEqual((try gateway.get("/v1/cluster").json?["slots_uncovered"] as? Int) ?? 0 > 0, true)
        let response = try client.call("GET", "/v1/kv/test/down/d0?timeout_ms=300")
        XCTAssertEqual(response.status, 503, "\(response)")
        XCTAssertEqual(response.errorCode, "cluster_unavailable")
        XCTAssertNotNil(response.header("Retry-After"))
        XCTAssertEqual(try owner.cli(["CLUSTER", "ADDSLOTS", String(slot)]), "OK")
        XCTAssertTrue(cluster.waitUntilHealthy(within: 30))
        XCTAssertTrue(eventually(within: 10) { (try? client.call("GET", "/readyz"))?.status == 200 })
        XCTAssertEqual(try client.put("down", "d0", value: "y").status, 201)
    }
}
