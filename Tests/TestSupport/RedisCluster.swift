package import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Redis Cluster for tests: 3 masters and 3 replicas, each a `RedisServer` on a
/// free loopback port in its own temporary directory, with `--cluster-enabled yes` and
/// a 2 s node timeout; created with `redis-cli --cluster create … --cluster-replicas 1`
/// and ready once every node says `cluster_state:ok` and agrees on the slots.
/// With `tls` every node is TLS-only (`tls-cluster yes`, `tls-replication yes`): the
/// bus, replication and clients all speak TLS, and the topology gives TLS ports.
/// `stop()` (or deinit) kills every node and removes the directories.
package final class RedisCluster: @unchecked Sendable {
    package let servers: [RedisServer]
    package let tls: TestCertificates?

    /// `extraArguments` go to every node (`--repl-diskless-sync-delay 0`: a rejoining
    /// replica syncs at once instead of after Redis's default 5 s).
    /// `serverCertificateFile`: with `tls`, the certificate every node presents (for
    /// `certificates.serverKey`) instead of `serverCertificate`.
    package init(
        masters: Int = 3, nodeTimeoutMs: Int = 2000, extraArguments: [String] = [], tls: TestCertificates? = nil,
        serverCertificateFile: String? = nil
    ) throws {
        self.tls = tls
        var servers: [RedisServer] = []
        let tlsArguments = tls == nil ? [] : ["--tls-cluster", "yes", "--tls-replication", "yes"]
        for _ in 0..<(masters * 2) {
            servers.append(
                try RedisServer(
                    extraArguments: [
                        "--cluster-enabled", "yes", "--cluster-node-timeout", String(nodeTimeoutMs),
                        "--cluster-config-file", "nodes.conf",
                        // Its own free bus port: the default (port + 10000) may be taken or past 65535.
                        "--cluster-port", String(freePort()),
                    ] + tlsArguments + extraArguments,
                    tls: tls.map { RedisServer.TLSSetup(certificates: $0, certificateFile: serverCertificateFile) }))
        }
        self.servers = servers
        let cliTLS =
            tls.map {
                ["--tls", "--cacert", $0.caFile, "--cert", $0.clientCertificate, "--key", $0.clientKey]
            } ?? []
        let create = try Self.run(
            "redis-cli",
            cliTLS + ["--cluster", "create"] + servers.map { "127.0.0.1:\($0.port)" } + [
                "--cluster-replicas", "1", "--cluster-yes",
            ])
        guard create.status == 0 else { throw TestError("redis-cli --cluster create failed: \(create.output)") }
        guard waitUntilHealthy(within: 30) else {
            throw TestError(
                "the cluster did not reach cluster_state:ok: \(servers.map { (try? $0.cli(["CLUSTER", "INFO"])) ?? "?" })"
            )
        }
    }

    deinit { stop() }

    package func stop() {
        for server in servers { server.stop() }
    }

    package var seedURL: String {
        (tls == nil ? "redis+cluster://" : "rediss+cluster://")
            + servers.prefix(2).map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
    }

    /// Every live node reports `cluster_state:ok` and all 16384 slots, and every live
    /// replica's link to its master is up (`replicas` of them at least).
    package func waitUntilHealthy(within seconds: Double, replicas: Int = 3) -> Bool {
        eventually(within: seconds) {
            let live = servers.filter(\.isRunning)
            let healthy = live.allSatisfy { server in
                let info = (try? server.cli(["CLUSTER", "INFO"])) ?? ""
                return info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
            }
            guard healthy, mastersBySlot().count == 16384 else { return false }
            let linked = live.filter { server in
                let info = (try? server.cli(["INFO", "replication"])) ?? ""
                return info.contains("role:slave") && info.contains("master_link_status:up")
            }
            return linked.count >= replicas
        }
    }

    /// slot → port of its master, from the first live node's CLUSTER NODES.
    package func mastersBySlot() -> [Int: UInt16] {
        guard let server = servers.first(where: \.isRunning),
            let text = try? server.cli(["CLUSTER", "NODES"])
        else { return [:] }
        var out: [Int: UInt16] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 8, fields[2].contains("master"), !fields[2].contains("fail"),
                let port = UInt16(fields[1].split(separator: "@")[0].split(separator: ":").last ?? "")
            else { continue }
            for range in fields[8...] where !range.hasPrefix("[") {
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                guard let low = bounds.first else { continue }
                for slot in low...(bounds.last ?? low) { out[slot] = port }
            }
        }
        return out
    }

    package func server(port: UInt16) -> RedisServer? { servers.first { $0.port == port } }

    /// The live masters' servers.
    package var masters: [RedisServer] {
        let ports = Set(mastersBySlot().values)
        return servers.filter { ports.contains($0.port) }
    }

    package func nodeID(of server: RedisServer) throws -> String {
        try server.cli(["CLUSTER", "MYID"])
    }

    /// Runs `program` (redis-cli …) and returns its exit status and output.
    @discardableResult
    package static func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RedisServer.locate(program))
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
