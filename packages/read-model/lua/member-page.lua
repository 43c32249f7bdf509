-- get_group_member_list, from one snapshot of the group's keys in the
-- generation the caller chose (read-page.ts). Runs after lib/member.lua.
--
-- KEYS: the group's members, info, minfo. ARGV: groupID, caller userID,
-- caller is an admin ('1' | '0'), offset, count. Returns {outcome, total,
-- membersJSON}: outcome 'ok', 'no_permission' (not a member, not an admin),
-- 'not_found' or 'dismissed'. Membership is checked first, as upstream does,
-- so a non-member learns nothing about the group, not even whether it
-- exists. Members come in join-time order (ties by userID), as
-- GroupMemberFullInfo JSON objects, comma-joined.
-- Cost: ZSCORE + ZCARD + ZRANGE O(log N + count) + count HGETs.
local mk, ik, fk = KEYS[1], KEYS[2], KEYS[3]
local gid, caller, admin = ARGV[1], ARGV[2], ARGV[3] == '1'
local start, count = tonumber(ARGV[4]), tonumber(ARGV[5])
if not admin and not redis.call('ZSCORE', mk, caller) then return {'no_permission', 0, ''} end
local status = redis.call('HGET', ik, 'status')
if not status then return {'not_found', 0, ''} end
if status == '2' then return {'dismissed', 0, ''} end
local total = redis.call('ZCARD', mk)
if count == 0 or start >= total then return {'ok', total, ''} end
local rows = redis.call('ZRANGE', mk, start, start + count - 1, 'WITHSCORES')

local gidJson = cjson.encode(gid)
local out = {}
for i = 1, #rows, 2 do
  local uid = rows[i]
  out[#out + 1] = member_json(gidJson, uid, rows[i + 1], redis.call('HGET', fk, uid))
end
return {'ok', total, table.concat(out, ',')}
