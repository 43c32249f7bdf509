-- get_incremental_group_members (and each group of the batch), from one
-- snapshot of the group's keys in the generation the caller chose
-- (read-sync.ts). Runs after lib/log.lua and lib/member.lua.
--
-- KEYS: the group's members, info, member log, minfo, card. ARGV: groupID,
-- caller userID, caller is an admin ('1' | '0'), the generation's versionID
-- ('' when it has none), the client's versionID and version. Returns
-- {outcome, version, full (1 | 0), {userID left...}, {member JSON joined...},
-- {member JSON changed...}, GroupInfo JSON or '', sortVersion}; outcome
-- 'ok', 'no_permission' (neither a member nor an admin), 'not_found' or
-- 'dismissed', checked in that order as get_group_member_list does.
--
-- Full as for the join log (sync-joins.lua), with the group's card as
-- `group`. Else `group` is the card when its own info changed since the
-- client's version, or (unlike upstream, whose clients' memberCount then
-- goes stale) when members joined or left. sortVersion: the log's version of the last change of a role or a
-- join time (the members' order), 0 when none.
local mk, ik, lk, fk, ck = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local gid, caller, admin = ARGV[1], ARGV[2], ARGV[3] == '1'
local vid, cvid, cver = ARGV[4], ARGV[5], tonumber(ARGV[6])
local none = {}
if not admin and not redis.call('ZSCORE', mk, caller) then return {'no_permission', 0, 1, none, none, none, '', 0} end
local info = redis.call('HMGET', ik, 'status', '_r')
if not info[1] then return {'not_found', 0, 1, none, none, none, '', 0} end
if info[1] == '2' then return {'dismissed', 0, 1, none, none, none, '', 0} end
local sortVersion = tonumber(info[2]) or 0
local version = log_version(lk)
if vid == '' or cvid ~= vid or cver <= 0 or cver > version or cver < log_floor(lk) then
  -- The client reads the members whole; the group's card comes along, so
  -- its GroupInfo (memberCount) is whole too.
  return {'ok', version, 1, none, none, none, redis.call('GET', ck) or '', sortVersion}
end
local left, joined, changed, card = {}, {}, {}, ''
if cver < version then
  local gidJson = cjson.encode(gid)
  local groupChanged = false
  local rows = redis.call('ZRANGEBYSCORE', lk, '(' .. (cver * 4 + 3), '+inf', 'WITHSCORES')
  for i = 1, #rows, 2 do
    local uid, state = rows[i], tonumber(rows[i + 1]) % 4
    if uid == '' then
      groupChanged = true
    elseif state == LOG_LEFT then
      left[#left + 1] = uid
      groupChanged = true
    else
      local j = redis.call('ZSCORE', mk, uid)
      if j then
        local m = member_json(gidJson, uid, j, redis.call('HGET', fk, uid))
        if state == LOG_JOINED then
          joined[#joined + 1] = m
          groupChanged = true
        else
          changed[#changed + 1] = m
        end
      end
    end
  end
  if groupChanged then card = redis.call('GET', ck) or '' end
end
return {'ok', version, 0, left, joined, changed, card, sortVersion}
