-- Test harness only (src/test-helpers.ts), loaded in place of
-- lib/writes.lua: the script fails after N writes (N = the last ARGV),
-- leaving the earlier ones in place exactly as a Redis error half-way (out
-- of memory) would; a call that ends first adds its write count to its
-- reply, so the harness spends one budget across a chunk's calls. The apply
-- scripts' write order is chosen so that re-delivering the events
-- completes the work.
local crashAfter = tonumber(ARGV[#ARGV])
local writes = 0
local W = function(...)
  if writes >= crashAfter then error(redis.error_reply('INJECTED crash after ' .. writes .. ' writes')) end
  writes = writes + 1
  return redis.call(...)
end
local function done(reply)
  reply[#reply + 1] = writes
  return reply
end
