/// Why a store command failed or was refused. The Gateway's ErrorResponse maps each
/// kind to its HTTP status (503 overloaded / node down, 504 timeout, 502 otherwise).
package struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    package enum Kind: Equatable, Sendable {
        /// The node's connections are at their pipeline cap and its queue is full.
        case overloaded
        /// The node is unreachable (connect failed); commands fail fast until it returns.
        case nodeDown
        /// The command's deadline passed. `outcomeUnknown` when it was already sent and
        /// is not safe to repeat: it may or may not have been executed.
        case timeout(outcomeUnknown: Bool)
        /// The connection dropped with the command on it.
        case connectionLost(outcomeUnknown: Bool)
        /// AUTH was refused: wrong user or password.
        case authenticationFailed
        /// The node's TLS certificate failed verification (expired, wrong host, unknown
        /// CA); the message names the reason. The node is down meanwhile.
        case certificateRejected
        /// The store sent bytes that are not RESP, or a reply nobody asked for.
        case protocolError
        /// The store is being closed (shutdown).
        case closed
        /// The store URL or configuration is invalid.
        case invalidConfiguration
        /// Redis Cluster could not serve the slot within the deadline (CLUSTERDOWN,
        /// TRYAGAIN, a redirect loop, or no node known for it yet). Nothing was executed.
        case clusterDown
        /// The command's keys live in different cluster slots; it was not sent.
        case crossSlot
        /// A write that waits for replicas: fewer replicas than its master has confirmed
        /// it before the deadline. It is on the master; whether it survives a failover is
        /// unknown.
        case notReplicated
        /// A write that waits for replicas went to a master that has none; it was not sent.
        case noReplicas
    }

    package let kind: Kind
    package let message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { "\(kind): \(message)" }

    /// True when a write may have been applied although no reply was seen.
    package var outcomeUnknown: Bool {
        switch kind {
        case .timeout(let unknown), .connectionLost(let unknown): unknown
        case .notReplicated: true
        default: false
        }
    }
}
