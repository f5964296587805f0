internal import RESP

/// The Lua scripts that make every record operation atomic in the store. A record is
/// one hash: `_gen` holds the generation, `b:<bin>` each bin's value as canonical JSON
/// text; the key's TTL is the record's. Scripts are called with EVALSHA (the digest is
/// computed here) and fall back to EVAL once when the store answers NOSCRIPT.
///
/// Replies: negative first element = refused (-404 missing, -409 exists, -412
/// generation mismatch, -400 with a message for a bad operation), else success;
/// `ScriptReply` decodes them. Plain reads need no script (`RecordService.read`).
/// Scripts touch the store as few times as they can: a TTL left as it was is not
/// set again, and stale bins are looked for only when the hash holds more fields
/// than the write sent.
struct RecordScript: Sendable {
    let source: String
    let sha: String
    /// `EVALSHA sha` and `EVALSHA_RO sha` as RESP bulk strings, encoded once.
    let evalshaHead: [UInt8]
    let evalshaReadOnlyHead: [UInt8]

    init(_ source: String) {
        self.source = source
        let sha = SHA1.hexDigest(source)
        self.sha = sha
        evalshaHead = Self.head("EVALSHA", sha)
        evalshaReadOnlyHead = Self.head("EVALSHA_RO", sha)
    }

    private static func head(_ verb: String, _ sha: String) -> [UInt8] {
        var bytes: [UInt8] = []
        RESPEncoder.appendCommand(head: [verb, sha], RESPArguments(), to: &bytes)
        // Without the `*2` array header: the caller writes its own count.
        return Array(bytes.drop { $0 != UInt8(ascii: "$") })
    }
}

enum RecordScripts {
    /// KEYS[1] record; ARGV: bin fields to read (all when empty). For `RecordAccess`.
    /// → nil | {gen, ttl, {field, value, …}}
    static let read = RecordScript(
        """
        local gen = redis.call('HGET', KEYS[1], '_gen')
        if not gen then return false end
        local ttl = redis.call('TTL', KEYS[1])
        if #ARGV == 0 then return {gen, ttl, redis.call('HGETALL', KEYS[1])} end
        local values = redis.call('HMGET', KEYS[1], unpack(ARGV))
        local out = {}
        for i, field in ipairs(ARGV) do
          if values[i] then out[#out + 1] = field; out[#out + 1] = values[i] end
        end
        return {gen, ttl, out}
        """)

    /// The record's key never stops existing inside a write script (no DEL then HSET):
    /// in a Redis Cluster slot that is migrating, a script's call on a key that is gone
    /// is refused, and the calls before it are not rolled back (docs/cluster.md).
    ///
    /// Create or replace. KEYS[1] record; ARGV: mode ('create' | 'upsert'), expected
    /// generation, 'exists' (If-Match: *) or '', ttl ('' keep, '-1' none, 'N' seconds), then field/value pairs.
    /// → {-409|-412, gen} | {created 0/1, gen, ttl}
    static let write = RecordScript(
        """
        local gen = tonumber(redis.call('HGET', KEYS[1], '_gen') or '0')
        if ARGV[1] == 'create' and gen > 0 then return {-409, gen} end
        if ARGV[2] == 'exists' then
          if gen == 0 then return {-412, 0} end
        elseif ARGV[2] ~= '' and tonumber(ARGV[2]) ~= gen then return {-412, gen} end
        redis.call('HSET', KEYS[1], '_gen', gen + 1, unpack(ARGV, 4))
        if gen > 0 and redis.call('HLEN', KEYS[1]) > (#ARGV - 1) / 2 then
          local keep = {_gen = true}
          for i = 4, #ARGV, 2 do keep[ARGV[i]] = true end
          local stale = {}
          for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
            if not keep[field] then stale[#stale + 1] = field end
          end
          redis.call('HDEL', KEYS[1], unpack(stale))
        end
        local ttl = -1
        if ARGV[3] == '' then
          if gen > 0 then ttl = redis.call('TTL', KEYS[1]) end
        elseif tonumber(ARGV[3]) > 0 then
          ttl = tonumber(ARGV[3])
          redis.call('EXPIRE', KEYS[1], ttl)
        elseif gen > 0 then
          redis.call('PERSIST', KEYS[1])
        end
        if gen > 0 then return {0, gen + 1, ttl} end
        return {1, gen + 1, ttl}
        """)

    /// Merge. KEYS[1] record; ARGV: expected generation or '', ttl, max bins, max
    /// bytes (bin names + values), then field/value pairs where an empty value removes the bin.
    /// → {-404|-412|-413, gen} | {-413, gen, 'bytes'} | {1, gen, ttl, {field, value, …}}
    static let patch = RecordScript(
        """
        local gen = tonumber(redis.call('HGET', KEYS[1], '_gen') or '0')
        if gen == 0 then
          if ARGV[1] ~= '' then return {-412, 0} end
          return {-404, 0}
        end
        if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= gen then return {-412, gen} end
        local flat = redis.call('HGETALL', KEYS[1])
        local merged, order = {}, {}
        for i = 1, #flat, 2 do
          if flat[i] ~= '_gen' then merged[flat[i]] = flat[i + 1]; order[#order + 1] = flat[i] end
        end
        local sets, dels = {'_gen', gen + 1}, {}
        for i = 5, #ARGV, 2 do
          if ARGV[i + 1] == '' then
            merged[ARGV[i]] = nil
            dels[#dels + 1] = ARGV[i]
          else
            if merged[ARGV[i]] == nil then order[#order + 1] = ARGV[i] end
            merged[ARGV[i]] = ARGV[i + 1]
            sets[#sets + 1] = ARGV[i]
            sets[#sets + 1] = ARGV[i + 1]
          end
        end
        local count, size = 0, 0
        for k, v in pairs(merged) do count = count + 1; size = size + #k + #v end
        if count > tonumber(ARGV[3]) then return {-413, gen} end
        if size > tonumber(ARGV[4]) then return {-413, gen, 'bytes'} end
        redis.call('HSET', KEYS[1], unpack(sets))
        if #dels > 0 then redis.call('HDEL', KEYS[1], unpack(dels)) end
        local ttl
        if ARGV[2] == '' then ttl = redis.call('TTL', KEYS[1])
        elseif tonumber(ARGV[2]) > 0 then
          ttl = tonumber(ARGV[2])
          redis.call('EXPIRE', KEYS[1], ttl)
        else
          ttl = -1
          redis.call('PERSIST', KEYS[1])
        end
        local out = {}
        for _, field in ipairs(order) do
          if merged[field] then out[#out + 1] = field; out[#out + 1] = merged[field] end
        end
        return {1, gen + 1, ttl, out}
        """)

    /// KEYS[1] record; ARGV: expected generation or ''. → {-404|-412, gen} | {1, gen}
    static let delete = RecordScript(
        """
        local gen = tonumber(redis.call('HGET', KEYS[1], '_gen') or '0')
        if gen == 0 then
          if ARGV[1] ~= '' then return {-412, 0} end
          return {-404, 0}
        end
        if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= gen then return {-412, gen} end
        redis.call('DEL', KEYS[1])
        return {1, gen}
        """)

    /// Several operations on one record, all or nothing. KEYS[1] record; ARGV: ttl,
    /// max bins, max bytes (bin names + values), then triples (op, field, value).
    /// Operations run against a copy of the record; only when every one succeeds (and
    /// the result fits both limits) are the changes written.
    /// → {-404, 0} | {-400, message} | {-413, gen} | {-413, gen, 'bytes'} | {1, gen, ttl, {result or false, …}}
    static let operate = RecordScript(
        """
        local function split(text)
          local items, depth, start, i, n, quoted = {}, 0, 2, 2, #text, false
          if text == '[]' then return items end
          while i < n do
            local c = string.byte(text, i)
            if quoted then
              if c == 92 then i = i + 1 elseif c == 34 then quoted = false end
            elseif c == 34 then quoted = true
            elseif c == 91 or c == 123 then depth = depth + 1
            elseif c == 93 or c == 125 then depth = depth - 1
            elseif c == 44 and depth == 0 then items[#items + 1] = string.sub(text, start, i - 1); start = i + 1 end
            i = i + 1
          end
          items[#items + 1] = string.sub(text, start, n - 1)
          return items
        end
        local function join(items) return '[' .. table.concat(items, ',') .. ']' end
        local function isList(text) return text ~= nil and string.sub(text, 1, 1) == '[' end

        local current = {}
        local flat = redis.call('HGETALL', KEYS[1])
        for i = 1, #flat, 2 do current[flat[i]] = flat[i + 1] end
        local gen = tonumber(current['_gen'] or '0')
        local writes, results = false, {}
        for i = 4, #ARGV, 3 do
          local op, field, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
          local old = current[field]
          local result = false
          if op == 'get' then
            if gen == 0 and not writes then return {-404, 0} end
            if field == '' then
              local all = {}
              for k, v in pairs(current) do if k ~= '_gen' then all[#all + 1] = k; all[#all + 1] = v end end
              result = all
            else result = old or false end
          elseif op == 'put' then current[field] = value; writes = true
          elseif op == 'delete_bin' then current[field] = nil; writes = true
          elseif op == 'touch' then writes = true
          elseif op == 'incr' then
            local base = 0
            if old ~= nil then
              base = tonumber(old)
              if base == nil or string.find(old, '[.eE]') then return {-400, 'bin ' .. string.sub(field, 3) .. ' is not an integer'} end
            end
            local sum = base + tonumber(value)
            if sum > 9007199254740991 or sum < -9007199254740991 then return {-400, 'incr result is out of the exact integer range (2^53)'} end
            current[field] = string.format('%.0f', sum); result = current[field]; writes = true
          elseif op == 'append' then
            if old == nil then current[field] = value
            elseif string.sub(old, 1, 1) ~= '"' then return {-400, 'bin ' .. string.sub(field, 3) .. ' is not a string'}
            else current[field] = string.sub(old, 1, -2) .. string.sub(value, 2) end
            result = current[field]; writes = true
          elseif op == 'list_append' or op == 'set_add' or op == 'set_remove' then
            local items = {}
            if old ~= nil then
              if not isList(old) then return {-400, 'bin ' .. string.sub(field, 3) .. ' is not a list'} end
              items = split(old)
            end
            if op == 'list_append' then items[#items + 1] = value
            else
              local found = 0
              for j, item in ipairs(items) do if item == value then found = j end end
              if op == 'set_add' and found == 0 then items[#items + 1] = value end
              if op == 'set_remove' and found > 0 then table.remove(items, found) end
            end
            current[field] = join(items); result = current[field]; writes = true
          else return {-400, 'unknown operation ' .. op} end
          results[#results + 1] = result
        end
        local ttl = -1
        if gen > 0 then ttl = redis.call('TTL', KEYS[1]) end
        if not writes then return {1, gen, ttl, results} end
        local count, size = 0, 0
        for k, v in pairs(current) do if k ~= '_gen' then count = count + 1; size = size + #k + #v end end
        if count > tonumber(ARGV[2]) then return {-413, gen} end
        if size > tonumber(ARGV[3]) then return {-413, gen, 'bytes'} end
        local pairsOut = {'_gen', gen + 1}
        for k, v in pairs(current) do if k ~= '_gen' then pairsOut[#pairsOut + 1] = k; pairsOut[#pairsOut + 1] = v end end
        redis.call('HSET', KEYS[1], unpack(pairsOut))
        for i = 1, #flat, 2 do
          if current[flat[i]] == nil then redis.call('HDEL', KEYS[1], flat[i]) end
        end
        if ARGV[1] ~= '' then
          ttl = tonumber(ARGV[1])
          if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) else ttl = -1; redis.call('PERSIST', KEYS[1]) end
        end
        return {1, gen + 1, ttl, results}
        """)
}
