/// When a write is acknowledged. `master`: once the master has it; Redis replicates
/// asynchronously, so a master that dies before its replica received the write loses it
/// on failover. `replicas`: once every replica the master has confirmed it (`WAIT`
/// behind the write, on the same connection); fewer confirmations before the deadline
/// answer 504 with `in_doubt`, and a master without replicas answers 409 `no_replicas`.
/// Chosen per write with `?commit=` (a batch item's `commit` field), else the server's
/// `--commit-level`.
package enum CommitLevel: String, Sendable, CaseIterable {
    case master
    case replicas

    /// Parses a `commit` value; `field` names it in the error.
    static func parse(_ text: String, field: String) throws(GatewayError) -> CommitLevel {
        guard let level = CommitLevel(rawValue: text) else {
            throw GatewayError.badRequest("invalid_commit", "\(field) must be master or replicas")
        }
        return level
    }
}

extension RequestInput {
    /// `?commit=master|replicas`; nil when absent.
    var commitLevel: CommitLevel? {
        get throws(GatewayError) {
            guard let text = query["commit"] else { return nil }
            return try CommitLevel.parse(text, field: "commit")
        }
    }
}
