package import Foundation

/// A real master with one replica (`--replicaof`), each a `RedisServer` on its own free
/// loopback port; ready once the master lists the replica as `state=online`.
/// `stop()` (or deinit) stops both.
package final class RedisReplicaPair: @unchecked Sendable {
    package let master: RedisServer
    package let replica: RedisServer

    package init() throws {
        master = try RedisServer()
        replica = try RedisServer(extraArguments: ["--replicaof", "127.0.0.1", String(master.port)])
        guard waitUntilLinked(within: 20) else {
            throw TestError("the replica never came online: \((try? master.cli(["INFO", "replication"])) ?? "?")")
        }
    }

    deinit { stop() }

    package func stop() {
        replica.stop()
        master.stop()
    }

    /// The master lists the replica as online.
    package func waitUntilLinked(within seconds: Double) -> Bool {
        eventually(within: seconds) {
            ((try? master.cli(["INFO", "replication"])) ?? "").contains("state=online")
        }
    }
}
