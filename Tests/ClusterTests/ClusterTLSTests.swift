import Foundation
import Store
import TestSupport
import XCTest

/// Redis Cluster over TLS (`rediss+cluster://`, `tls-cluster yes`): the topology gives
/// TLS ports, keys land on their slot's master, a MOVED is followed, and a killed
/// master's replica takes over, all over TLS with verified certificates. One cluster
/// for every case: TLS nodes are slow to set up, and every test runs three times in CI.
final class ClusterTLSTests: XCTestCase {
    func testRoutingRedirectsAndFailoverOverTLS() throws {
        let certificates = try TestCertificates()
        let cluster = try RedisCluster(tls: certificates)
        defer { cluster.stop() }
        let gateway = try startGateway(cluster, ["--store-tls-ca-file", certificates.caFile])
        defer { gateway.stop() }
        let client = GatewayClient(port: gateway.port)
        let count = 300
        for index in 0..<count {
            let response = try client.put("tls", "k\(index)", value: "value-\(index)")
            XCTAssertEqual(response.status, 201, "k\(index): \(response)")
        }
        let owners = cluster.mastersBySlot()
        var stored = 0
        for master in cluster.masters {
            let keys = try master.cli(["--scan", "--pattern", "sg:{test/tls/*}"]).split(separator: "\n")
            for key in keys {
                XCTAssertEqual(owners[HashSlot.of(String(key))], master.port, "\(key) is not on its slot's master")
            }
            stored += keys.count
        }
        XCTAssertEqual(stored, count, "every key exactly once, on masters only")

        // Migrate one record's slot to another master behind the gateway's back: ASK while
        // it moves, MOVED after, both followed over TLS.
        let key = redisKey("tls", "k0")
        let slot = HashSlot.of(key)
        let source = try XCTUnwrap(cluster.server(port: try XCTUnwrap(owners[slot])))
        let target = try XCTUnwrap(cluster.masters.first { $0.port != source.port })
        let targetID = try cluster.nodeID(of: target)
        let before = try XCTUnwrap(gateway.get("/v1/cluster").json?["redirects"] as? [String: Int])
        XCTAssertEqual(
            try target.cli(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", cluster.nodeID(of: source)]), "OK")
        XCTAssertEqual(try source.cli(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID]), "OK")
        XCTAssertEqual(
            try source.cli(["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", key]), "OK")
        XCTAssertEqual(GatewayClient.value(try client.get("tls", "k0")), "value-0", "through ASK")
        for server in cluster.masters { _ = try server.cli(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID]) }
        XCTAssertEqual(GatewayClient.value(try client.get("tls", "k0")), "value-0", "through MOVED")
        let now = try XCTUnwrap(gateway.get("/v1/cluster").json?["redirects"] as? [String: Int])
        XCTAssertGreaterThanOrEqual(
            now["ask"]! - before["ask"]! + now["moved"]! - before["moved"]!, 1, "redirects followed: \(now)")
        XCTAssertTrue(cluster.waitUntilHealthy(within: 20))

        try checkWritesResumeAfterAMasterIsKilled(cluster, gateway)
    }

    /// Nodes announcing a host name (`cluster-announce-hostname`) are verified against
    /// it: CLUSTER SLOTS gives their IP addresses, their certificate names only
    /// `localhost`. Without the announced name every node but the seeds failed to verify.
    func testNodesAreVerifiedAgainstTheHostNameTheyAnnounce() throws {
        let certificates = try TestCertificates()
        let cluster = try RedisCluster(
            extraArguments: ["--cluster-announce-hostname", "localhost"], tls: certificates,
            serverCertificateFile: certificates.hostOnlyCertificate)
        defer { cluster.stop() }
        let seeds = cluster.servers.prefix(2).map { "localhost:\($0.port)" }.joined(separator: ",")
        let gateway = try GatewayProcess(arguments: [
            "--store", "rediss+cluster://\(seeds)", "--access-log", "off", "--store-tls-ca-file", certificates.caFile,
        ])
        defer { gateway.stop() }
        let client = GatewayClient(port: gateway.port)
        let ready = eventually(within: 15) { (try? client.put("named", "probe", value: "p"))?.status == 201 }
        XCTAssertTrue(ready, "\(gateway.log.suffix(1500))")
        for index in 0..<60 {
            let response = try client.put("named", "k\(index)", value: "value-\(index)")
            XCTAssertEqual(response.status, 201, "k\(index): \(response)")
        }
        let owners = Set(cluster.masters.map(\.port))
        let nodes = try XCTUnwrap(gateway.get("/v1/cluster").json?["nodes"] as? [[String: Any]])
        let addresses = nodes.compactMap { $0["address"] as? String }
        for port in owners {
            XCTAssertTrue(addresses.contains("127.0.0.1:\(port)"), "master :\(port) reached by IP: \(addresses)")
        }
        for master in cluster.masters {
            XCTAssertFalse(
                try master.cli(["--scan", "--pattern", "sg:{test/named/*}"]).isEmpty, "keys on :\(master.port) too")
        }
    }
}
