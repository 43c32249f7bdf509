-- get_incremental_join_groups, from one snapshot of the active generation.
-- Runs after the rendered key functions, lib/log.lua and lib/member.lua.
--
-- ARGV: root, userID, the client's versionID and version. Returns
-- {versionID, version, full (1 | 0), {groupID left...}, {GroupInfo JSON of
-- a group joined...}}.
--
-- Full (and nothing else), as upstream: the client's versionID is not this
-- generation's (empty, unknown, or from before a rebuild), its version is 0
-- or ahead of the log's, or the log no longer holds every change after it.
-- Else the groups joined and left since the client's version; upstream's
-- join log has no updates (a group's own changes reach clients through the
-- member sync's `group`). Cost: O(log N + changes) + a GET per group joined.
local root, uid, cvid, cver = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local gen = redis.call('GET', k_active(root))
if not gen then return {'', 0, 1, {}, {}} end
local vid = version_id(root, gen)
local jl = k_userJoinLog(root, gen, uid)
local version = log_version(jl)
if vid == '' or cvid ~= vid or cver <= 0 or cver > version or cver < log_floor(jl) then
  return {vid, version, 1, {}, {}}
end
local left, joined = {}, {}
if cver < version then
  local rows = redis.call('ZRANGEBYSCORE', jl, '(' .. (cver * 4 + 3), '+inf', 'WITHSCORES')
  for i = 1, #rows, 2 do
    if tonumber(rows[i + 1]) % 4 == LOG_LEFT then
      left[#left + 1] = rows[i]
    else
      local c = redis.call('GET', k_groupCard(root, gen, rows[i]))
      if c then joined[#joined + 1] = c end
    end
  end
end
return {vid, version, 0, left, joined}
