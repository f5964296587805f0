package import EventLoop
package import RESP

/// The store client facade: the gateway hands it commands with a deadline and gets
/// either an immediate refusal (overloaded, node down: backpressure the caller can
/// act on) or, on a later loop turn, exactly one completion.
///
/// ```
///  Gateway ─execute─▶ Store ─▶ Node (per address: capped pool + bounded queue)
///                                 └─▶ BackendConnection ×≤max (pipelined FIFO) ─▶ redis
///  completion ◀─ RESP reply matched to the FIFO head ◀────────────────────────────┘
/// ```
/// Memory is bounded by configuration: nodes × (connections × pipeline depth + queue).
/// Everything runs on the loop thread. Redis Cluster routing arrives with its issue;
/// today one node serves every key.
package final class Store {
    package let url: StoreURL
    package let limits: StoreLimits
    private let loop: Loop
    private let node: Node

    package init(loop: Loop, url: StoreURL, limits: StoreLimits = StoreLimits()) throws(StoreError) {
        guard case .single(let address) = url.target else {
            throw StoreError(.invalidConfiguration, "redis+cluster:// is not supported yet; use one redis:// node")
        }
        self.loop = loop
        self.url = url
        self.limits = limits
        node = Node(address: address, loop: loop, limits: limits, credentials: url)
    }

    package var nodes: [Node] { [node] }

    /// Sends `command`. Returns nil when accepted (its completion will run on a later
    /// loop turn) or the reason it was refused right now (then it never completes).
    package func execute(_ command: StoreCommand) -> StoreError? {
        node.submit(command)
    }

    /// Convenience: build and send a command; `timeoutMs` defaults to the store's.
    @discardableResult
    package func execute(
        _ arguments: [String], idempotent: Bool, timeoutMs: UInt64? = nil,
        completion: @escaping StoreCommand.Completion
    ) -> StoreError? {
        execute(
            StoreCommand(
                arguments, idempotent: idempotent, timeoutMs: timeoutMs ?? limits.commandTimeoutMs,
                completion: completion))
    }

    /// Closes every connection; commands still waiting fail with `.closed`.
    package func close() {
        node.close()
    }
}

/// The store client's bounds, each with its default (see docs/configuration.md).
package struct StoreLimits: Sendable {
    /// Connections per store node, opened lazily. Default 4.
    package var maxConnectionsPerNode = 4
    /// Commands on the wire per connection. Default 128.
    package var maxPipelinePerConnection = 128
    /// Commands waiting per node when every connection is at its depth cap; past it the
    /// caller is refused (overloaded). Default 1,024.
    package var maxQueuedPerNode = 1024
    /// Default deadline of a command. Default 1 s.
    package var commandTimeoutMs: UInt64 = 1000
    /// Connect plus handshake must finish within this. Default 1 s.
    package var connectTimeoutMs: UInt64 = 1000
    /// A connection whose last N commands all timed out is closed and replaced. Default 3.
    package var maxConsecutiveTimeouts = 3
    /// Reconnect backoff: from this, doubling, with jitter. Default 100 ms.
    package var reconnectBaseMs: UInt64 = 100
    /// Reconnect backoff ceiling. Default 2 s.
    package var reconnectMaxMs: UInt64 = 2000
    /// Name shown in the store's CLIENT LIST.
    package var clientName = "storegate"
    /// Bounds on replies: a reply larger than the body limit can't be served anyway.
    package var replyLimits = RESPLimits(maxBulkLength: 64 * 1024 * 1024)

    package init() {}
}
