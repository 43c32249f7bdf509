-- The end of a chunk, in the generation bookkeeping's hash slot, after
-- every group's and user's call of it (apply.ts): the partition's
-- checkpoint in the generation written to, unless that generation stopped
-- being the active one meanwhile (a rebuild's switch) when the chunk
-- followed the active one.
--
-- KEYS: <root>:{<root>}:active, the generation's checkpoint hash.
-- ARGV: the generation written to, '1' when it was the active one (follow)
--       or '0' (a replay into a named generation), partition, offset ('' =
--       no checkpoint).
-- Returns {'ok'} or {'moved', active}: the chunk must be applied to the
-- active generation too (its calls are idempotent), and checkpointed there.
--
-- Why this keeps the switch whole (lua/flip.lua): the switch requires the
-- new generation's checkpoints to cover the old one's; a chunk whose
-- checkpoint lands in the old generation before the switch is covered by
-- that, and one that finds the switch done is applied again to the new one.
local gen, follow, partition, offset = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if follow == '1' then
  local active = redis.call('GET', KEYS[1])
  if active ~= gen then return {'moved', active or ''} end
end
if offset ~= '' then
  local prev = redis.call('HGET', KEYS[2], partition)
  if not prev or tonumber(prev) < tonumber(offset) then redis.call('HSET', KEYS[2], partition, offset) end
end
return {'ok'}
