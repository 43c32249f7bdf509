-- get_groups_info, from one snapshot of the active generation. Runs after the
-- rendered key functions.
--
-- ARGV: root, groupID... Returns {gen, groupsJSON}: the GroupInfo objects of
-- the known groups, in ARGV order, comma-joined. A live group answers with its
-- card; a dismissed one has no card and answers with the GroupInfo its
-- tombstone keeps (`_t` in the info hash: status 2, memberCount 0), as
-- upstream still returns a dismissed group with status 2. Unknown groups are
-- left out. Cost: one GET per ID (plus one HMGET per dismissed group).
local root = ARGV[1]
local gen = redis.call('GET', k_active(root))
if not gen then return {'', ''} end
local cards = {}
for i = 2, #ARGV do
  local gid = ARGV[i]
  local c = redis.call('GET', k_groupCard(root, gen, gid))
  if c then
    cards[#cards + 1] = c
  else
    local t = redis.call('HMGET', k_groupInfo(root, gen, gid), 'status', '_t')
    if t[1] == '2' and t[2] then cards[#cards + 1] = t[2] end
  end
end
return {gen, table.concat(cards, ',')}
