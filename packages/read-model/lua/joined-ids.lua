-- get_full_join_group_ids, from one snapshot of the active generation. Runs
-- after the rendered key functions, lib/log.lua and lib/member.lua.
--
-- ARGV: root, userID. Returns {gen, versionID, version, {groupID...}}: every
-- group of the user in list order (join time, then groupID), and the join
-- log's versionID and version (0 when the user never joined a group), from
-- which the client's next get_incremental_join_groups starts.
local root, uid = ARGV[1], ARGV[2]
local gen = redis.call('GET', k_active(root))
if not gen then return {'', '', 0, {}} end
local ids = redis.call('ZRANGE', k_userJoined(root, gen, uid), 0, -1)
return {gen, version_id(root, gen), log_version(k_userJoinLog(root, gen, uid)), ids}
