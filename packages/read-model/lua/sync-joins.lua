-- get_incremental_join_groups, from one snapshot of the user's join log in
-- the generation the caller chose (read-sync.ts). Runs after lib/log.lua.
--
-- KEYS: the user's join log. ARGV: that generation's versionID ('' when it
-- has none), the client's versionID and version. Returns {version, full
-- (1 | 0), {groupID left...}, {groupID joined...}}; the caller fetches the
-- joined groups' cards from their own slots.
--
-- Full (and nothing else), as upstream: the client's versionID is not this
-- generation's (empty, unknown, or from before a rebuild), its version is 0
-- or ahead of the log's, or the log no longer holds every change after it.
-- Else the groups joined and left since the client's version; upstream's
-- join log has no updates (a group's own changes reach clients through the
-- member sync's `group`). Cost: O(log N + changes).
local jl = KEYS[1]
local vid, cvid, cver = ARGV[1], ARGV[2], tonumber(ARGV[3])
local version = log_version(jl)
if vid == '' or cvid ~= vid or cver <= 0 or cver > version or cver < log_floor(jl) then
  return {version, 1, {}, {}}
end
local left, joined = {}, {}
if cver < version then
  local rows = redis.call('ZRANGEBYSCORE', jl, '(' .. (cver * 4 + 3), '+inf', 'WITHSCORES')
  for i = 1, #rows, 2 do
    if tonumber(rows[i + 1]) % 4 == LOG_LEFT then
      left[#left + 1] = rows[i]
    else
      joined[#joined + 1] = rows[i]
    end
  end
end
return {version, 0, left, joined}
