internal import RESP

/// The Lua scripts that make every conditional or merging record operation atomic in
/// the store. A record is one hash:
///
///     _gen      generation (1 on create, +1 on every write)
///     _exp      absolute expiry in Unix milliseconds by the store's clock, 0 = never;
///               the key's own expiry is set to the same instant (PEXPIREAT)
///     _b        the bins, each name with its canonical JSON text (`BinsBlob`)
///
/// so one HGETALL of three fields answers a read with bins, generation and TTL from one
/// instant (`RecordService.read`), and an unconditional replace that keeps the TTL needs
/// no script: MULTI, HINCRBY `_gen` 1, HSET `_b`, HINCRBY `_exp` 0, EXEC
/// (`RecordService.replaceTransaction`). Records written before `_b` hold each bin as
/// a field `b:<bin>`; reads take those while there is no `_b`, and every write turns
/// the record into `_b` and drops them (a replace transaction that finds no `_b` on an
/// existing record asks `convert` to finish the job). A record written before `_exp`
/// existed has only `_gen` and `b:` fields: reads see that and take its TTL from the
/// key (one more round trip). A TTL changed behind the gateway's back (EXPIRE sent to
/// redis directly) is not seen by reads until a write through the gateway sets or
/// clears it. Every meta field costs every read two reply elements, so there are no
/// more of them. Scripts are called with EVALSHA (the digest is computed here) and fall
/// back to EVAL once when the store answers NOSCRIPT.
///
/// Replies: negative first element = refused (-404 missing, -409 exists, -412
/// generation mismatch, -400 with a message for a bad operation), else success with
/// the generation and `_exp` (the gateway turns it into a TTL with its own clock);
/// `ScriptReply` decodes them. Most of a script's cost in the store is Lua's own (an
/// EVALSHA with a write's arguments costs about 2.5 plain HSETs before it calls
/// anything; docs/performance.md), and each `redis.call` adds to it: a write that keeps
/// the TTL reads `_gen _exp` and writes the hash (HKEYS and HDEL only for a record
/// still in `b:` fields); TIME and PEXPIREAT (or PERSIST) run only when the TTL changes.
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
    /// 'persist'), from the stored `_exp` and the request's ttl ('' keep, '-1' none, 'N'
    /// seconds). A kept TTL is looked up on the key when `_exp` is missing (a record
    /// written before it) or 0 (a replace transaction adds 0 to a record that had no
    /// `_exp`, and `convert` may not have followed): PEXPIRETIME, or TIME + PTTL before
    /// Redis 7, which can land 1 ms off the key's expiry.
    private static let expiryFunction = """
        local function expiry(old, ttl)
          if ttl == '' and old and old ~= '0' then return old, '' end
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

    /// Lua for the scripts that edit bins (PATCH, operate). Inside a script a bin is
    /// keyed `b:<name>` (the form the gateway sends and reads back). `load(flat)`: an
    /// HGETALL's bins (from `_b`, else from the old `b:` fields), their order, the other
    /// fields, and the old `b:` fields to delete; `encode(order, bins)`: `_b`'s text.
    static let binsFunctions = """
        local function decode(blob, bins, order)
          local i, n = 1, #blob
          while i <= n do
            local c = string.find(blob, ':', i, true)
            local j = c + tonumber(string.sub(blob, i, c - 1))
            local name = 'b:' .. string.sub(blob, c + 1, j)
            c = string.find(blob, ':', j + 1, true)
            i = c + tonumber(string.sub(blob, j + 1, c - 1)) + 1
            if bins[name] == nil then order[#order + 1] = name end
            bins[name] = string.sub(blob, c + 1, i - 1)
          end
        end
        local function load(flat)
          local bins, order, meta, legacy, blob = {}, {}, {}, {}, nil
          for i = 1, #flat, 2 do
            local field = flat[i]
            if string.sub(field, 1, 2) == 'b:' then legacy[#legacy + 1] = field
            elseif field == '_b' then blob = flat[i + 1]
            else meta[field] = flat[i + 1] end
          end
          if blob then decode(blob, bins, order)
          else
            for i = 1, #flat, 2 do
              if string.sub(flat[i], 1, 2) == 'b:' then bins[flat[i]] = flat[i + 1]; order[#order + 1] = flat[i] end
            end
          end
          return bins, order, meta, legacy
        end
        local function encode(order, bins)
          local parts = {}
          for _, field in ipairs(order) do
            local value = bins[field]
            if value then
              local name = string.sub(field, 3)
              parts[#parts + 1] = #name .. ':' .. name .. #value .. ':' .. value
            end
          end
          return table.concat(parts)
        end

        """

    /// Lua for the scripts that write a whole record (write, convert): `drop_legacy()`
    /// deletes every `b:` field, left from before `_b`.
    static let dropLegacyFunction = """
        local function drop_legacy()
          local gone = {}
          for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
            if string.sub(field, 1, 2) == 'b:' then gone[#gone + 1] = field end
          end
          if #gone > 0 then redis.call('HDEL', KEYS[1], unpack(gone)) end
        end

        """

    /// The record's key never stops existing inside a write script (no DEL then HSET):
    /// in a Redis Cluster slot that is migrating, a script's call on a key that is gone
    /// is refused, and the calls before it are not rolled back (docs/cluster.md).
    ///
    /// Create or replace. KEYS[1] record; ARGV: mode ('create' | 'upsert'), expected
    /// generation, 'exists' (If-Match: *) or '', ttl ('' keep, '-1' none, 'N' seconds),
    /// the bins as `_b`'s text. `_b` new on an existing record means it was in `b:`
    /// fields (every writer of `_b` also writes `_exp`): those go.
    /// → {-409|-412, gen} | {created 0/1, gen, _exp}
    static let write = RecordScript(
        dropLegacyFunction + """
            local meta = redis.call('HMGET', KEYS[1], '_gen', '_exp')
            local gen = tonumber(meta[1] or '0')
            if ARGV[1] == 'create' and gen > 0 then return {-409, gen} end
            if ARGV[2] == 'exists' then
              if gen == 0 then return {-412, 0} end
            elseif ARGV[2] ~= '' and tonumber(ARGV[2]) ~= gen then return {-412, gen} end
            if gen > 0 and ARGV[3] == '' and meta[2] and meta[2] ~= '0' then
              -- The common conditional replace: the TTL kept, `_exp` stays as it is.
              if redis.call('HSET', KEYS[1], '_gen', gen + 1, '_b', ARGV[4]) > 0 then drop_legacy() end
              return {0, gen + 1, meta[2]}
            end

            """ + expiryFunction + """
                local old = meta[2]
                if gen == 0 then old = '0' end
                local at, action = old, ''
                if ARGV[3] ~= '' or not old then at, action = expiry(old, ARGV[3]) end
                local added = redis.call('HSET', KEYS[1], '_gen', gen + 1, '_exp', at, '_b', ARGV[4])
                if gen > 0 and added > 0 then drop_legacy() end
                apply_expiry(at, action)
                if gen > 0 then return {0, gen + 1, at} end
                return {1, gen + 1, at}
                """)

    /// Finishes a replace transaction that found the record without `_b` (written before
    /// it): deletes the `b:` fields (only while `_b` is there: a gateway from before `_b`
    /// may have written the record since) and, for a record written before `_exp` too,
    /// sets `_exp` from the key's own expiry (the transaction left it 0). KEYS[1] record.
    /// → {-404, 0} | {0, gen, _exp}
    static let convert = RecordScript(
        dropLegacyFunction + expiryFunction + """
            local meta = redis.call('HMGET', KEYS[1], '_gen', '_exp', '_b')
            if not meta[1] then return {-404, 0} end
            -- Without `_b` a writer that knows only `b:` fields came in between: its bins stay.
            if meta[3] then drop_legacy() end
            local at = meta[2] or '0'
            if at == '0' then
              local found = expiry(nil, '')
              if found ~= '0' then
                at = found
                redis.call('HSET', KEYS[1], '_exp', at)
              end
            end
            return {0, tonumber(meta[1]), at}
            """)

    /// Merge. KEYS[1] record; ARGV: expected generation or '', ttl, max bins, max
    /// bytes (bin names + values), then field/value pairs where an empty value removes the bin.
    /// → {-404|-412|-413, gen} | {-413, gen, 'bytes'} | {1, gen, _exp, {field, value, …}}
    static let patch = RecordScript(
        expiryFunction + binsFunctions + """
            local merged, order, meta, legacy = load(redis.call('HGETALL', KEYS[1]))
            local gen = tonumber(meta['_gen'] or '0')
            if gen == 0 then
              if ARGV[1] ~= '' then return {-412, 0} end
              return {-404, 0}
            end
            if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= gen then return {-412, gen} end
            for i = 5, #ARGV, 2 do
              if ARGV[i + 1] == '' then
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
            redis.call('HSET', KEYS[1], '_gen', gen + 1, '_exp', at, '_b', encode(order, merged))
            if #legacy > 0 then redis.call('HDEL', KEYS[1], unpack(legacy)) end
            apply_expiry(at, action)
            local out, seen = {}, {}
            for _, field in ipairs(order) do
              if merged[field] and not seen[field] then
                seen[field] = true
                out[#out + 1] = field; out[#out + 1] = merged[field]
              end
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
        expiryFunction + binsFunctions + """
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
            local current, order, meta, legacy = load(redis.call('HGETALL', KEYS[1]))
            local known = {}
            for _, field in ipairs(order) do known[field] = true end
            local function set(field, value)
              if not known[field] then known[field] = true; order[#order + 1] = field end
              current[field] = value
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
                  for _, k in ipairs(order) do
                    if current[k] then all[#all + 1] = k; all[#all + 1] = current[k] end
                  end
                  result = all
                else result = old or false end
              elseif op == 'put' then set(field, value); writes = true
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
                set(field, string.format('%.0f', sum)); result = current[field]; writes = true
              elseif op == 'append' then
                if old == nil then set(field, value)
                elseif string.sub(old, 1, 1) ~= '"' then return {-400, 'bin ' .. string.sub(field, 3) .. ' is not a string'}
                else set(field, string.sub(old, 1, -2) .. string.sub(value, 2)) end
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
                set(field, join(items)); result = current[field]; writes = true
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
            redis.call('HSET', KEYS[1], '_gen', gen + 1, '_exp', at, '_b', encode(order, current))
            if #legacy > 0 then redis.call('HDEL', KEYS[1], unpack(legacy)) end
            apply_expiry(at, action)
            return {1, gen + 1, at, results}
            """)
}
