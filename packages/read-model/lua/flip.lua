-- The generation switch, in one call so no query and no apply can fall
-- between its check and its write. ARGV: active key, rebuild key, retired
-- key, lock key, lock value ('' = not checked), from generation ('' = none
-- active), to generation, from's checkpoint key, to's checkpoint key, now ms.
-- Keys come from keys.ts (keyspace()), passed in rather than rebuilt here.
--
-- The guard: every partition `from` has applied, `to` has applied at least as
-- far. The live projector applies to whatever `<root>:active` names when each
-- chunk runs, and its next chunk starts right after `from`'s checkpoint, so
-- after the switch it can never skip an event in `to`: what `to` holds beyond
-- that comes back as duplicate_offset, a no-op.
--
-- Returns {'switched', from} or {reason, detail...}: 'active_changed' (someone
-- else switched), 'lock_lost', 'not_rebuilding' (the rebuild record names
-- another generation or is not running), 'behind' (partition, to's offset,
-- from's offset).
local activeKey, rebuildKey, retiredKey, lockKey = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lockValue, from, to = ARGV[5], ARGV[6], ARGV[7]
local active = redis.call('GET', activeKey) or ''
if active ~= from then return {'active_changed', active} end
if lockValue ~= '' and redis.call('GET', lockKey) ~= lockValue then return {'lock_lost'} end
local rb = redis.call('HMGET', rebuildKey, 'generation', 'status')
if rb[1] ~= to or rb[2] ~= 'running' then
  return {'not_rebuilding', tostring(rb[1] or ''), tostring(rb[2] or '')}
end
if from ~= '' then
  local done = redis.call('HGETALL', ARGV[8])
  for i = 1, #done, 2 do
    local mine = redis.call('HGET', ARGV[9], done[i])
    if not mine or tonumber(mine) < tonumber(done[i + 1]) then
      return {'behind', done[i], mine or '', done[i + 1]}
    end
  end
  redis.call('SADD', retiredKey, from)
end
redis.call('SET', activeKey, to)
redis.call('HSET', rebuildKey, 'status', 'switched', 'previous', from, 'switchedAt', ARGV[10])
return {'switched', from}
