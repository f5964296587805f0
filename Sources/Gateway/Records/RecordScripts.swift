internal import RESP

/// The Lua scripts that make every record operation atomic in the store. A record is
/// one hash:
///
///     _gen      generation (1 on create, +1 on every write)
///     _exp      absolute expiry in Unix milliseconds by the store's clock, 0 = never;
///               the key's own expiry is set to the same instant (PEXPIREAT)
///     b:<bin>   each bin's value as canonical JSON text
///
/// so one HGETALL answers a read with bins, generation and TTL from one instant
/// (`RecordService.read`). A record written before `_exp` existed has only `_gen` and
/// bins: reads see that and take its TTL from the key (one more round trip); the next
/// write through a script that sets, clears or must look up the TTL adds `_exp`. A TTL
/// changed behind the gateway's back (EXPIRE sent to redis directly) is not seen by
/// reads until a write through the gateway sets or clears it. Every meta field costs every read two reply
/// elements, so there are no more of them (a bin count would save writes an HLEN and
/// cost reads more). Scripts are called with EVALSHA (the digest is computed here) and
/// fall back to EVAL once when the store answers NOSCRIPT.
///
/// Replies: negative first element = refused (-404 missing, -409 exists, -412
/// generation mismatch, -400 with a message for a bad operation), else success with
/// the generation and `_exp` (the gateway turns it into a TTL with its own clock);
/// `ScriptReply` decodes them. Most of a script's cost in the store is Lua's own (an
/// EVALSHA with a write's arguments costs about 2.5 plain HSETs before it calls
/// anything; docs/performance.md), and each `redis.call` adds to it: a write that keeps
/// the TTL reads `_gen _exp`, writes the hash and counts its fields (HKEYS and HDEL
/// only when bins were left over); TIME and PEXPIREAT (or PERSIST) run only when the
/// TTL changes.
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
    /// Lua every writing script starts with. `expiry(old, ttl)`: the `_exp` a write
    /// leaves and what `apply_expiry` then does to the key's expiry ('' nothing, 'set',
    /// 'persist'), from the stored `_exp` (nil for a record in the old layout: its
    /// PEXPIRETIME is read, or TIME + PTTL before Redis 7, which can land 1 ms off
    /// the key's expiry) and the request's ttl ('' keep, '-1' none, 'N' seconds).
    private static let expiryFunction = """
        local function expiry(old, ttl)
          if ttl == '' and old then return old, '' end
          if ttl ~= '' and tonumber(ttl) <= 0 then
            if old == '0' then return '0', '' end
            return '0', 'persist'
          end
          if ttl == '' then
            local at = redis.pcall('PEXPIRETIME', KEYS[1])
            if type(at) == 'number' then
              if at < 0 then return '0', '' end
              return string.format('%.0f', at), ''
            end
          end
          local t = redis.call('TIME')
          local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          if ttl ~= '' then return string.format('%.0f', now + tonumber(ttl) * 1000), 'set' end
          local pttl = redis.call('PTTL', KEYS[1])
          if pttl < 0 then return '0', '' end
          return string.format('%.0f', now + pttl), ''
        end
        local function apply_expiry(at, action)
          if action == 'set' then redis.call('PEXPIREAT', KEYS[1], at)
          elseif action == 'persist' then redis.call('PERSIST', KEYS[1]) end
        end

        """

    /// The record's key never stops existing inside a write script (no DEL then HSET):
    /// in a Redis Cluster slot that is migrating, a script's call on a key that is gone
    /// is refused, and the calls before it are not rolled back (docs/cluster.md).
    ///
    /// Create or replace. KEYS[1] record; ARGV: mode ('create' | 'upsert'), expected
    /// generation, 'exists' (If-Match: *) or '', ttl ('' keep, '-1' none, 'N' seconds), then field/value pairs.
    /// → {-409|-412, gen} | {created 0/1, gen, _exp}
    static let write = RecordScript(
        """
        local meta = redis.call('HMGET', KEYS[1], '_gen', '_exp')
        local gen = tonumber(meta[1] or '0')
        if ARGV[1] == 'create' and gen > 0 then return {-409, gen} end
        if ARGV[2] == 'exists' then
          if gen == 0 then return {-412, 0} end
        elseif ARGV[2] ~= '' and tonumber(ARGV[2]) ~= gen then return {-412, gen} end
        local count = (#ARGV - 3) / 2
        local function drop_stale()
          if redis.call('HLEN', KEYS[1]) <= count + 2 then return end
          local keep = {_gen = true, _exp = true}
          for i = 4, #ARGV, 2 do keep[ARGV[i]] = true end
          local gone = {}
          for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
            if not keep[field] then gone[#gone + 1] = field end
          end
          redis.call('HDEL', KEYS[1], unpack(gone))
        end
        if gen > 0 and ARGV[3] == '' and meta[2] then
          -- The common replace: the TTL kept, `_exp` stays as it is.
          redis.call('HSET', KEYS[1], '_gen', gen + 1, unpack(ARGV, 4))
          drop_stale()
          return {0, gen + 1, meta[2]}
        end

        """ + expiryFunction + """
            local old = meta[2]
            if gen == 0 then old = '0' end
            local at, action = old, ''
            if ARGV[3] ~= '' or not old then at, action = expiry(old, ARGV[3]) end
            redis.call('HSET', KEYS[1], '_gen', gen + 1, '_exp', at, unpack(ARGV, 4))
            if gen > 0 then drop_stale() end
            apply_expiry(at, action)
            if gen > 0 then return {0, gen + 1, at} end
            return {1, gen + 1, at}
            """)

    /// Merge. KEYS[1] record; ARGV: expected generation or '', ttl, max bins, max
    /// bytes (bin names + values), then field/value pairs where an empty value removes the bin.
    /// → {-404|-412|-413, gen} | {-413, gen, 'bytes'} | {1, gen, _exp, {field, value, …}}
    static let patch = RecordScript(
        expiryFunction + """
            local function is_bin(field) return string.sub(field, 1, 2) == 'b:' end
            local flat = redis.call('HGETALL', KEYS[1])
            local merged, order, meta = {}, {}, {}
            for i = 1, #flat, 2 do
              if is_bin(flat[i]) then merged[flat[i]] = flat[i + 1]; order[#order + 1] = flat[i]
              else meta[flat[i]] = flat[i + 1] end
            end
            local gen = tonumber(meta['_gen'] or '0')
            if gen == 0 then
              if ARGV[1] ~= '' then return {-412, 0} end
              return {-404, 0}
            end
            if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= gen then return {-412, gen} end
            local dels = {}
            for i = 5, #ARGV, 2 do
              if ARGV[i + 1] == '' then
                if merged[ARGV[i]] ~= nil then dels[#dels + 1] = ARGV[i] end
                merged[ARGV[i]] = nil
              else
                if merged[ARGV[i]] == nil then order[#order + 1] = ARGV[i] end
                merged[ARGV[i]] = ARGV[i + 1]
              end
            end
            local count, size = 0, 0
            for k, v in pairs(merged) do count = count + 1; size = size + #k + #v end
            if count > tonumber(ARGV[3]) then return {-413, gen} end
            if size > tonumber(ARGV[4]) then return {-413, gen, 'bytes'} end
            local at, action = expiry(meta['_exp'], ARGV[2])
            local sets = {'_gen', gen + 1, '_exp', at}
            for i = 5, #ARGV, 2 do
              if ARGV[i + 1] ~= '' then sets[#sets + 1] = ARGV[i]; sets[#sets + 1] = ARGV[i + 1] end
            end
            redis.call('HSET', KEYS[1], unpack(sets))
            if #dels > 0 then redis.call('HDEL', KEYS[1], unpack(dels)) end
            apply_expiry(at, action)
            local out = {}
            for _, field in ipairs(order) do
              if merged[field] then out[#out + 1] = field; out[#out + 1] = merged[field] end
            end
            return {1, gen + 1, at, out}
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
    /// → {-404, 0} | {-400, message} | {-413, gen} | {-413, gen, 'bytes'} | {1, gen, _exp, {result or false, …}}
    static let operate = RecordScript(
        expiryFunction + """
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
            local function is_bin(field) return string.sub(field, 1, 2) == 'b:' end

            local current, meta = {}, {}
            local flat = redis.call('HGETALL', KEYS[1])
            for i = 1, #flat, 2 do
              if is_bin(flat[i]) then current[flat[i]] = flat[i + 1] else meta[flat[i]] = flat[i + 1] end
            end
            local gen = tonumber(meta['_gen'] or '0')
            local writes, results = false, {}
            for i = 4, #ARGV, 3 do
              local op, field, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
              local old = current[field]
              local result = false
              if op == 'get' then
                if gen == 0 and not writes then return {-404, 0} end
                if field == '' then
                  local all = {}
                  for k, v in pairs(current) do all[#all + 1] = k; all[#all + 1] = v end
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
            local old = meta['_exp']
            if gen == 0 then old = '0' end
            if not writes then
              local at = expiry(old, '')
              return {1, gen, at, results}
            end
            local count, size = 0, 0
            for k, v in pairs(current) do count = count + 1; size = size + #k + #v end
            if count > tonumber(ARGV[2]) then return {-413, gen} end
            if size > tonumber(ARGV[3]) then return {-413, gen, 'bytes'} end
            local at, action = expiry(old, ARGV[1])
            local pairsOut = {'_gen', gen + 1, '_exp', at}
            for k, v in pairs(current) do pairsOut[#pairsOut + 1] = k; pairsOut[#pairsOut + 1] = v end
            redis.call('HSET', KEYS[1], unpack(pairsOut))
            local gone = {}
            for i = 1, #flat, 2 do
              if is_bin(flat[i]) and current[flat[i]] == nil then gone[#gone + 1] = flat[i] end
            end
            if #gone > 0 then redis.call('HDEL', KEYS[1], unpack(gone)) end
            apply_expiry(at, action)
            return {1, gen + 1, at, results}
            """)
}
