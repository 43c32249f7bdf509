-- get_full_group_member_user_ids, from one snapshot of the active
-- generation. Runs after the rendered key functions, lib/log.lua and
-- lib/member.lua.
--
-- ARGV: root, groupID, caller userID, caller is an admin ('1' | '0').
-- Returns {outcome, versionID, version, {userID...}}: outcome as
-- member-page.lua's; the members in join-time order (ties by userID) and the
-- member log's versionID and version, from which the client's next
-- get_incremental_group_members starts.
local root, gid, caller, admin = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local gen = redis.call('GET', k_active(root))
local mk = gen and k_groupMembers(root, gen, gid)
if not admin and not (gen and redis.call('ZSCORE', mk, caller)) then return {'no_permission', '', 0, {}} end
if not gen then return {'not_found', '', 0, {}} end
local status = redis.call('HGET', k_groupInfo(root, gen, gid), 'status')
if not status then return {'not_found', '', 0, {}} end
if status == '2' then return {'dismissed', '', 0, {}} end
return {'ok', version_id(root, gen), log_version(k_groupMemberLog(root, gen, gid)), redis.call('ZRANGE', mk, 0, -1)}
