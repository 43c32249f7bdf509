-- bench:apply's single-node `lua` ceiling: per event ZADD (user's set), HSET +
-- HINCRBY (group's hash); nothing else. ARGV: root, then per event groupID,
-- userID, score, field. No KEYS: it writes keys it does not declare, in many
-- slots, so it runs on one Redis only (the Cluster's ceiling is plain commands).
local root = ARGV[1]
for i = 2, #ARGV, 4 do
  local gid, uid, score = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('ZADD', root .. ':{u:' .. uid .. '}:joined', score, gid)
  redis.call('HSET', root .. ':{g:' .. gid .. '}:info', ARGV[i + 3], score)
  redis.call('HINCRBY', root .. ':{g:' .. gid .. '}:info', 'n', 1)
end
return (#ARGV - 1) / 4
