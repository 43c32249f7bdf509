-- get_full_join_group_ids, from one snapshot of the active generation. Runs
-- after the rendered key functions.
--
-- ARGV: root, userID. Returns {gen, version, {groupID...}}: every group of
-- the user in list order (join time, then groupID) and the user's change
-- counter (the `ver` key, '0' when never set).
local root, uid = ARGV[1], ARGV[2]
local gen = redis.call('GET', k_active(root))
if not gen then return {'', '0', {}} end
local ids = redis.call('ZRANGE', k_userJoined(root, gen, uid), 0, -1)
local version = redis.call('GET', k_userVersion(root, gen, uid)) or '0'
return {gen, version, ids}
