-- A page of a user's groups: the user's total and the page's group IDs in
-- list order (join time, then groupID), from one snapshot of the user's set.
-- The caller chose the generation (its key is that generation's) and
-- fetches the page's cards itself, from the groups' own slots (read-page.ts):
-- bringing ~700-byte cards into Lua and joining them there would cost Redis
-- about 1 us per KB each way, three times what a MGET costs
-- (docs/benchmarks.md).
--
-- KEYS: the user's joined set. ARGV: offset, count.
-- Returns {total, groupID...}.
-- Cost: ZCARD O(1) + ZRANGE O(log N + count), whatever N is.
local uk = KEYS[1]
local start, count = tonumber(ARGV[1]), tonumber(ARGV[2])
local total = redis.call('ZCARD', uk)
if count == 0 or start >= total then return {total} end
local out = redis.call('ZRANGE', uk, start, start + count - 1)
table.insert(out, 1, total)
return out
