-- get_full_group_member_user_ids, from one snapshot of the group's keys in
-- the generation the caller chose (read-sync.ts). Runs after lib/log.lua.
--
-- KEYS: the group's members, info, member log. ARGV: caller userID, caller
-- is an admin ('1' | '0'). Returns {outcome, version, {userID...}}: outcome
-- as member-page.lua's; the members in join-time order (ties by userID) and
-- the member log's version, from which, with the generation's versionID,
-- the client's next get_incremental_group_members starts.
local mk, ik, lk = KEYS[1], KEYS[2], KEYS[3]
local caller, admin = ARGV[1], ARGV[2] == '1'
if not admin and not redis.call('ZSCORE', mk, caller) then return {'no_permission', 0, {}} end
local status = redis.call('HGET', ik, 'status')
if not status then return {'not_found', 0, {}} end
if status == '2' then return {'dismissed', 0, {}} end
return {'ok', log_version(lk), redis.call('ZRANGE', mk, 0, -1)}
