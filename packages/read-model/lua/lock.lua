-- Compare-and-act on a lock held by value, so only its holder refreshes or
-- frees it. KEYS: the lock. ARGV: expected value, 'refresh' | 'release' |
-- 'replace', ttl ms, new value (replace). Returns 1 when done, 0 when the
-- value differs.
local key = KEYS[1]
local expected, op = ARGV[1], ARGV[2]
if redis.call('GET', key) ~= expected then return 0 end
if op == 'refresh' then redis.call('PEXPIRE', key, ARGV[3])
elseif op == 'release' then redis.call('DEL', key)
elseif op == 'replace' then redis.call('SET', key, ARGV[4], 'PX', ARGV[3])
else return redis.error_reply('unknown lock op ' .. tostring(op)) end
return 1
