/// The order workflow's keys and Lua scripts. Keys of one order share the hash tag
/// `{o:<id>}` (one Redis Cluster slot), the warehouse keys share `{stock}`, so every
/// script touches one slot. Scripts are sent with EVAL (Redis caches them by digest).
///
/// ```
///  pizzeria:order:{o:ID}          hash: status, owner, created_at, customer, items, …
///  pizzeria:order:{o:ID}:events   stream: one entry per transition (status, at, detail)
///  pizzeria:orders:active         set of unfinished order ids (resume on start)
///  pizzeria:{stock}               hash: ingredient → count
///  pizzeria:{stock}:reserved      hash: order id → what it took (reservations are once-only)
///  pizzeria:idem:{KEY}            string: Idempotency-Key → order id (24 h)
///  pizzeria:menu                  string: the menu as JSON, seeded when absent
/// ```
enum OrderKeys {
    static func order(_ id: String) -> String { "pizzeria:order:{o:\(id)}" }
    static func events(_ id: String) -> String { "pizzeria:order:{o:\(id)}:events" }
    static let active = "pizzeria:orders:active"
    static let stock = "pizzeria:{stock}"
    static let reserved = "pizzeria:{stock}:reserved"
    static let menu = "pizzeria:menu"
    static func idempotency(_ key: String) -> String { "pizzeria:idem:{\(key)}" }
    static let idempotencySeconds = 86_400
    static let customerNamespace = "pizzeria"
    static let customerSet = "customers"
}

enum OrderScripts {
    /// KEYS order, events; ARGV at, owner, then field/value pairs. → 1 created | 0 it exists.
    static let create = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'status', 'received', 'owner', ARGV[2], 'created_at', ARGV[1],
          'updated_at', ARGV[1], unpack(ARGV, 3))
        redis.call('XADD', KEYS[2], '*', 'status', 'received', 'at', ARGV[1], 'detail', '')
        return 1
        """

    /// The compare-and-set of every step. KEYS order, events; ARGV from, to, at, owner,
    /// detail, then field/value pairs. → {1, to, owner} applied | {0, current, owner}.
    static let transition = """
        local current = redis.call('HGET', KEYS[1], 'status')
        if current ~= ARGV[1] then
          return {0, current or '', redis.call('HGET', KEYS[1], 'owner') or ''}
        end
        redis.call('HSET', KEYS[1], 'status', ARGV[2], 'owner', ARGV[4], 'updated_at', ARGV[3], unpack(ARGV, 6))
        redis.call('XADD', KEYS[2], '*', 'status', ARGV[2], 'at', ARGV[3], 'detail', ARGV[5])
        return {1, ARGV[2], ARGV[4]}
        """

    /// All ingredients or nothing. KEYS stock, reserved; ARGV order id, then
    /// ingredient/amount pairs. → {1} reserved (now or before) | {0, missing…}.
    static let reserve = """
        if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {1} end
        local missing = {}
        for i = 2, #ARGV, 2 do
          local have = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
          if have < tonumber(ARGV[i + 1]) then missing[#missing + 1] = ARGV[i] end
        end
        if #missing > 0 then return {0, unpack(missing)} end
        for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1])) end
        redis.call('HSET', KEYS[2], ARGV[1], table.concat(ARGV, ',', 2))
        return {1}
        """

    /// KEYS stock; ARGV ingredient/amount pairs. → the whole stock, flat.
    static let restock = """
        for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
        return redis.call('HGETALL', KEYS[1])
        """

    /// KEYS order, events. → nil | {flat hash, XRANGE entries}.
    static let read = """
        local fields = redis.call('HGETALL', KEYS[1])
        if #fields == 0 then return false end
        return {fields, redis.call('XRANGE', KEYS[2], '-', '+')}
        """
}
