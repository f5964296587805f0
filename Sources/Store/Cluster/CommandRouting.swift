/// Where a command must go in a Redis Cluster, worked out once from its arguments:
/// no key (any master, or the slot a caller pins it to, as SCAN is), one slot, or
/// keys in several slots (refused in cluster mode: it could never run whole).
/// Unknown commands are treated as keyless; if they do carry a key, the node's MOVED
/// reply still takes them to the right owner.
package enum CommandRouting: Equatable, Sendable {
    case keyless
    case slot(Int)
    case crossSlot

    package var slot: Int? {
        if case .slot(let slot) = self { return slot }
        return nil
    }

    package init(arguments: [String]) {
        guard let verb = arguments.first?.uppercased() else {
            self = .keyless
            return
        }
        let keys: ArraySlice<String>
        switch verb {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard arguments.count > 2, let count = Int(arguments[2]), count >= 0, arguments.count >= 3 + count else {
                self = .keyless
                return
            }
            keys = arguments[3..<(3 + count)]
        case "DEL", "UNLINK", "EXISTS", "MGET", "TOUCH", "WATCH", "SINTER", "SUNION", "SDIFF", "PFCOUNT":
            keys = arguments.dropFirst()
        case "MSET", "MSETNX":
            keys = ArraySlice(stride(from: 1, to: arguments.count, by: 2).map { arguments[$0] })
        case "RENAME", "RENAMENX", "SMOVE", "LMOVE", "RPOPLPUSH", "COPY":
            keys = arguments.dropFirst().prefix(2)
        default:
            guard Self.singleKey.contains(verb), arguments.count > 1 else {
                self = .keyless
                return
            }
            keys = arguments[1...1]
        }
        var slot: Int?
        for key in keys {
            let next = HashSlot.of(key)
            if let slot, slot != next {
                self = .crossSlot
                return
            }
            slot = next
        }
        self = slot.map { .slot($0) } ?? .keyless
    }

    /// Commands whose only key is their first argument.
    static let singleKey: Set<String> = [
        "GET", "SET", "SETNX", "SETEX", "PSETEX", "GETSET", "GETDEL", "GETEX", "APPEND", "STRLEN", "INCR", "INCRBY",
        "INCRBYFLOAT", "DECR", "DECRBY", "HGET", "HSET", "HSETNX", "HMSET", "HMGET", "HGETALL", "HDEL", "HLEN",
        "HEXISTS", "HINCRBY", "HINCRBYFLOAT", "HKEYS", "HVALS", "HSCAN", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT",
        "PERSIST", "TTL", "PTTL", "TYPE", "DUMP", "RESTORE", "LPUSH", "RPUSH", "LPOP", "RPOP", "LRANGE", "LLEN", "LREM",
        "LINDEX", "LSET", "LTRIM", "SADD", "SREM", "SMEMBERS", "SISMEMBER", "SCARD", "SPOP", "SSCAN", "ZADD", "ZREM",
        "ZRANGE", "ZSCORE", "ZCARD", "ZINCRBY", "ZRANGEBYSCORE", "ZREVRANGE", "ZRANK", "ZSCAN", "XADD", "XRANGE",
        "XREVRANGE", "XLEN", "XTRIM", "XDEL", "PFADD", "OBJECT",
    ]

    /// Commands a replica connection in READONLY mode answers itself.
    static let readOnly: Set<String> = [
        "GET", "HGET", "HMGET", "HGETALL", "HLEN", "HEXISTS", "HKEYS", "HVALS", "STRLEN", "EXISTS", "TTL", "PTTL",
        "TYPE", "LRANGE", "LLEN", "LINDEX", "SMEMBERS", "SISMEMBER", "SCARD", "ZRANGE", "ZSCORE", "ZCARD", "MGET",
        "EVAL_RO", "EVALSHA_RO", "FCALL_RO", "XRANGE", "XLEN",
    ]

    package static func isReadOnly(_ arguments: [String]) -> Bool {
        guard let verb = arguments.first?.uppercased() else { return false }
        return readOnly.contains(verb)
    }
}
