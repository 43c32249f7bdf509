-- A page of a user's groups from one snapshot of the active generation (a
-- query never sees a half-switched generation). Runs after the rendered key
-- functions.
--
-- ARGV: root, userID, offset, count, mode:
--   'keys'  -> {total, gen, cardKey...}: the hot path. The caller fetches the
--              cards with one MGET outside Lua: bringing ~700-byte cards into
--              Lua and joining them there costs Redis about 1 us per KB each
--              way, three times what the MGET costs (docs/benchmarks.md).
--   'cards' -> {total, gen, card...}: the same page in one call, read when a
--              card named by 'keys' was gone by the time of the MGET (its
--              group dismissed, or its generation retired by a rebuild's
--              switch, in between). A group without a card (a half-failed
--              apply awaiting its redelivery) is left out.
-- {0, ''} when no generation is active.
-- Cost: ZCARD O(1) + ZRANGE O(log N + count), whatever N is.
local root, uid = ARGV[1], ARGV[2]
local start, count, mode = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local gen = redis.call('GET', k_active(root))
if not gen then return {0, ''} end
local uk = k_userJoined(root, gen, uid)
local total = redis.call('ZCARD', uk)
local out = {total, gen}
if count == 0 or start >= total then return out end
local keys = redis.call('ZRANGE', uk, start, start + count - 1)
for i, gid in ipairs(keys) do keys[i] = k_groupCard(root, gen, gid) end
if mode == 'keys' then
  for i, key in ipairs(keys) do out[i + 2] = key end
  return out
end
-- MGET in chunks: unpack() is bounded by Lua's C stack (~8000 values).
for i = 1, #keys, 1000 do
  for _, c in ipairs(redis.call('MGET', unpack(keys, i, math.min(i + 999, #keys)))) do
    if c then out[#out + 1] = c end
  end
end
return out
