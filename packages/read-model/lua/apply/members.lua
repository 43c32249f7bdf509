-- The apply script's member changes, versions (seq), dismissal and
-- creation (after apply/state.lua; see apply.lua).
-- The user's side first (set, then join log), the group's member log and
-- member set last: the member set is what says "done", so a half-done add is
-- finished by the redelivery. A group new to the user's set means a new
-- member (a half-done remove is always finished first: it is the earlier
-- event); else the member set decides, and the logs are ensured. A group
-- being created (`quiet`) logs no member: its log starts with one entry.
local function add_member(g, m, quiet)
  local u, j = m.userID, m.joinTime
  local uk, jl = k_userJoined(root, gen, u), k_userJoinLog(root, gen, u)
  local put = log_put
  if W('ZADD', uk, 'NX', j, g.id) == 1 then
    log_put(jl, g.id, LOG_JOINED)
  else
    g.verify = true
    if call('ZSCORE', g.mk, u) then return false end
    log_ensure(jl, g.id, LOG_JOINED)
    W('ZADD', uk, j, g.id)
    put = log_ensure
  end
  if not quiet then put(g.lk, u, LOG_JOINED) end
  W('HSET', g.fk, u, m.detail)
  W('ZADD', g.mk, j, u)
  g.delta = g.delta + 1
  return true
end

local function remove_member(g, uid)
  local jl = k_userJoinLog(root, gen, uid)
  local put = log_put
  if W('ZREM', k_userJoined(root, gen, uid), g.id) == 1 then
    log_put(jl, g.id, LOG_LEFT)
  else
    g.verify = true
    if not call('ZSCORE', g.mk, uid) then return false end
    log_ensure(jl, g.id, LOG_LEFT)
    put = log_ensure
  end
  put(g.lk, uid, LOG_LEFT)
  W('HDEL', g.fk, uid)
  W('ZREM', g.mk, uid)
  g.delta = g.delta - 1
  return true
end

-- A member's detail or join time changed; `sorts`: its place in the
-- members' order may have moved (sortVersion). A member whose entry says
-- joined stays joined: a client from before the join must still be told of
-- a new member (insert, and the group's memberCount in `group`).
local function log_member_change(g, uid, sorts)
  local v = log_put(g.lk, uid, log_state(g.lk, uid) == LOG_JOINED and LOG_JOINED or LOG_CHANGED)
  if sorts then W('HSET', g.ik, '_r', v) end
end

-- A member detail (wire.ts memberDetail) with another role.
local function with_role(raw, role)
  return role .. string.sub(raw, (string.find(raw, '|', 1, true)))
end

-- Versions (event stream v1.1). An event's `seq` orders changes per entity:
-- the group's own info (_q) and each membership (mseq while a member, gone
-- once not). A change applies only when its seq is greater than its
-- entity's, so a redelivery of any age, or a late older change, is a no-op.
-- Events without seq keep the offset guard and the window alone, and cost
-- nothing here while the group has no versioned membership (_m).
local function newer_group(g, s)
  return not s or s > g.q
end

local function member_version(g, uid)
  if not g.versioned then return nil end
  return tonumber(call('HGET', g.qk, uid) or call('ZSCORE', g.gk, uid))
end

-- Below the floor nothing is known any more: such a change is older than
-- every tombstone the group still keeps, so it is treated as stale.
-- A stale membership may be the redelivery of a call that failed half-way,
-- between the change and the chunk's count: the count is then re-read (as
-- for a duplicate), even when other members of the same event are new.
local function newer_member(g, uid, s)
  if not s then return true end
  local known = member_version(g, uid)
  local newer
  if known then newer = s > known else newer = s > g.floor end
  if not newer then g.verify = true end
  return newer
end

-- The membership's version after a change, written right after the change
-- itself (a crash in between leaves the change to be redone, never a version
-- without its change). An event without seq keeps what the entity had.
local function record_member(g, uid, s, live)
  if not s then
    if not g.versioned then return end
    s = member_version(g, uid)
    if not s then return end
  end
  if not g.versioned then
    W('HSET', g.ik, '_m', '1')
    g.versioned = true
  end
  if live then
    W('HSET', g.qk, uid, s)
    W('ZREM', g.gk, uid)
  else
    W('ZADD', g.gk, s, uid)
    W('HDEL', g.qk, uid)
    g.tombs = true
  end
end

local function record_group(g, s)
  if s then
    W('HSET', g.ik, '_q', s)
    g.q = s
  end
end

-- A member again, with the join time and detail of a newer join: the leave
-- between them never reached us (an older one arriving later is stale).
local function rejoin(g, m)
  local u, j = m.userID, m.joinTime
  if call('HGET', g.fk, u) == m.detail and tonumber(call('ZSCORE', g.mk, u)) == tonumber(j) then return end
  log_member_change(g, u, true)
  W('ZADD', k_userJoined(root, gen, u), j, g.id)
  W('HSET', g.fk, u, m.detail)
  W('ZADD', g.mk, j, u)
end

-- The group leaves every member's list and its card goes; the info hash
-- stays as a tombstone (status 2, written last) so later events for it are
-- recognised and ignored, keeping the GroupInfo get_groups_info answers for
-- it (_t, from the card, before the card goes).
local function dismiss(g)
  local raw = call('GET', g.ck)
  if raw then
    local c = cjson.decode(raw)
    c.status = '2'
    W('HSET', g.ik, '_t', (card(c, 0)))
  end
  for _, uid in ipairs(call('ZRANGE', g.mk, 0, -1)) do
    local jl = k_userJoinLog(root, gen, uid)
    if W('ZREM', k_userJoined(root, gen, uid), g.id) == 1 then
      log_put(jl, g.id, LOG_LEFT)
    else
      log_ensure(jl, g.id, LOG_LEFT)
    end
  end
  cover(g) -- the window goes: the offset keeps the chunk's earlier events done
  W('DEL', g.mk, g.fk, g.sk, g.ck, g.qk, g.gk, g.lk, k_groupSnapshot(root, gen, g.id), k_groupSnapshotMembers(root, gen, g.id))
  W('HSET', g.ik, 'status', '2')
  g.status = '2'
end

-- A new group with these fields and members; status is written last: it
-- marks the group as existing.
local function create(g, c, members, s)
  for _, m in ipairs(members) do
    add_member(g, m, true)
    if s then record_member(g, m.userID, s, true) end
  end
  log_ensure(g.lk, '', LOG_CHANGED) -- version 1: every client reads a new group whole
  local count = call('ZCARD', g.mk)
  local body, pos = card(c, count)
  W('SET', g.ck, body)
  record_group(g, s)
  W('HSET', g.ik, '_n', pos, '_c', count, 'status', c.status)
  g.status, g.pos, g.c0, g.delta, g.verify = c.status, pos, count, 0, false
end

