-- Compare-and-act on a lock held by value, so only its holder refreshes or
-- frees it. ARGV: key, expected value, 'refresh' | 'release' | 'replace',
-- ttl ms, new value (replace). Returns 1 when done, 0 when the value differs.
local key, expected, op = ARGV[1], ARGV[2], ARGV[3]
if redis.call('GET', key) ~= expected then return 0 end
if op == 'refresh' then redis.call('PEXPIRE', key, ARGV[4])
elseif op == 'release' then redis.call('DEL', key)
elseif op == 'replace' then redis.call('SET', key, ARGV[5], 'PX', ARGV[4])
else return redis.error_reply('unknown lock op ' .. tostring(op)) end
return 1
