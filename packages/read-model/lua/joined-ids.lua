-- get_full_join_group_ids, from one snapshot of the user's keys in the
-- generation the caller chose (read-page.ts). Runs after lib/log.lua.
--
-- KEYS: the user's joined set, join log. Returns {version, {groupID...}}:
-- every group of the user in list order (join time, then groupID), and the
-- join log's version (0 when the user never joined a group), from which,
-- with the generation's versionID, the client's next
-- get_incremental_join_groups starts.
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
return {log_version(KEYS[2]), ids}
