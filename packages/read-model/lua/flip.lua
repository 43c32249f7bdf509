-- The generation switch, in one call so no query and no apply can fall
-- between its check and its write. KEYS (all in the `{<root>}` slot,
-- keys.ts): active, rebuild record, retired set, retired-at hash, rebuild
-- lock, from's checkpoint, to's checkpoint. ARGV: lock value ('' = not
-- checked), from generation ('' = none active), to generation, now ms.
--
-- The guard: every partition `from` has applied, `to` has applied at least as
-- far. The live projector applies to whatever `<root>:{<root>}:active` names when each
-- chunk runs, and its next chunk starts right after `from`'s checkpoint, so
-- after the switch it can never skip an event in `to`: what `to` holds beyond
-- that comes back as duplicate_offset, a no-op.
--
-- `from` is retired as of now: it stays whole for the grace period
-- (generations.ts) while readers that resolved it before the switch finish.
--
-- Returns {'switched', from} or {reason, detail...}: 'active_changed' (someone
-- else switched), 'lock_lost', 'not_rebuilding' (the rebuild record names
-- another generation or is not running), 'behind' (partition, to's offset,
-- from's offset).
local activeKey, rebuildKey, retiredKey, retiredAtKey, lockKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local fromCkpt, toCkpt = KEYS[6], KEYS[7]
local lockValue, from, to, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local active = redis.call('GET', activeKey) or ''
if active ~= from then return {'active_changed', active} end
if lockValue ~= '' and redis.call('GET', lockKey) ~= lockValue then return {'lock_lost'} end
local rb = redis.call('HMGET', rebuildKey, 'generation', 'status')
if rb[1] ~= to or rb[2] ~= 'running' then
  return {'not_rebuilding', tostring(rb[1] or ''), tostring(rb[2] or '')}
end
if from ~= '' then
  local done = redis.call('HGETALL', fromCkpt)
  for i = 1, #done, 2 do
    local mine = redis.call('HGET', toCkpt, done[i])
    if not mine or tonumber(mine) < tonumber(done[i + 1]) then
      return {'behind', done[i], mine or '', done[i + 1]}
    end
  end
  redis.call('SADD', retiredKey, from)
  redis.call('HSET', retiredAtKey, from, now)
end
redis.call('SET', activeKey, to)
redis.call('HSET', rebuildKey, 'status', 'switched', 'previous', from, 'switchedAt', now)
return {'switched', from}
