-- The users' side of a chunk, for one user, in the user's hash slot: after
-- lua/apply.lua has applied the groups' side, each group the user's list
-- must change for takes the state the group's call returned. Runs after
-- lib/writes.lua (W), lib/log.lua and lib/log-put.lua (scripts.ts
-- assembles it).
--
-- KEYS: the user's joined set and join log (keys.ts USER_KEYS).
-- ARGV: entries kept per version log, then pairs: groupID, state (a join
--       time; -2 no longer a member; -1 not a member: apply/state.lua).
--
-- A state is what the group's member set says at the end of a call, so
-- writing it again is a no-op: the redelivery of a chunk whose users' side
-- failed half-way sets the same states, or newer ones, never older. The
-- list changes first, then its log: a call that fails in between leaves the
-- log behind the list, and the redelivery, finding the list done, checks
-- the log's state and writes what it lacks.
local JK, JL = KEYS[1], KEYS[2]
log_max = tonumber(ARGV[1]) -- lib/log-put.lua's

-- (#ARGV - 1: the test harness appends one argument, lua/test/crash-after.lua)
for i = 2, #ARGV - 1, 2 do
  local gid, state = ARGV[i], ARGV[i + 1]
  if state == '-1' or state == '-2' then
    -- Not a member. Logged when the user left (-2), or when the list had
    -- the group or its log says joined (-1: a list the group's call found
    -- behind, or an entry older than the bound); never twice.
    local removed = W('ZREM', JK, gid) == 1
    local logged = log_state(JL, gid)
    if logged ~= LOG_LEFT and (state == '-2' or removed or logged == LOG_JOINED) then log_put(JL, gid, LOG_LEFT) end
  elseif W('ZADD', JK, state, gid) == 1 then
    log_put(JL, gid, LOG_JOINED) -- new in the list
  elseif log_state(JL, gid) ~= LOG_JOINED then
    log_put(JL, gid, LOG_JOINED)
  end
end
return done({})
