-- The apply script's member changes, versions (seq), dismissal and
-- creation (after apply/state.lua; see apply.lua).
-- A member joins: the member log and detail, then the member set, which
-- is what says "done" (a call that fails half-way is finished by the
-- redelivery: the log entry is ensured, not added twice). The user's side
-- follows in apply-user.lua. A group being created (`quiet`) logs no
-- member: its log starts with one entry.
local function add_member(g, m, quiet)
  local u, j = m.userID, m.joinTime
  if call('ZSCORE', g.mk, u) then
    g.verify = true
    return false
  end
  -- (A call that failed after this entry is redelivered as new: the entry
  -- is stamped again, with a higher version; a version may only be ahead.)
  if not quiet then log_put(g.lk, u, LOG_JOINED) end
  W('HSET', g.fk, u, m.detail)
  if g.fanout then W('ZREM', g.ok, u) end
  W('ZADD', g.mk, j, u)
  user_state(u, j)
  g.delta = g.delta + 1
  return true
end

local function remove_member(g, uid)
  if not call('ZSCORE', g.mk, uid) then
    g.verify = true
    return false
  end
  log_put(g.lk, uid, LOG_LEFT)
  W('HDEL', g.fk, uid)
  W('ZREM', g.mk, uid)
  user_state(uid, -2)
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
  W('HSET', g.fk, u, m.detail)
  W('ZADD', g.mk, j, u)
  user_state(u, j)
end

-- Users whose lists must lose the group, kept in the fanout set until
-- apply.ts has run their calls (it then deletes the set and _x): a
-- redelivered call returns them again (apply.lua). _x says the set may hold
-- users, so a call needs no read to know it is empty.
local function fanout(g, uids)
  if #uids == 0 then return end
  if not g.fanout then
    W('HSET', g.ik, '_x', '1')
    g.fanout = true
  end
  for i = 1, #uids, 1000 do
    local batch = {}
    for x = i, math.min(i + 999, #uids) do
      batch[#batch + 1] = -1
      batch[#batch + 1] = uids[x]
    end
    W('ZADD', g.ok, unpack(batch))
  end
end

-- The group leaves every member's list and its card goes; the info hash
-- stays as a tombstone (status 2, written last) so later events for it are
-- recognised and ignored, keeping the GroupInfo get_groups_info answers for
-- it (_t, from the card, before the card goes). The members move to the
-- fanout set (its members are users whose lists may still show the group):
-- the redelivery of a dismissal whose users' side never ran finds them there
-- (apply.lua), and apply.ts deletes the set once every list is done.
local function dismiss(g)
  local raw = call('GET', g.ck)
  if raw then
    local c = cjson.decode(raw)
    c.status = '2'
    W('HSET', g.ik, '_t', (card(c, 0)))
  end
  local members = call('ZRANGE', g.mk, 0, -1)
  -- With them, the users this call took out before (a leave): the member
  -- log that would tell their redelivery so goes with the group.
  local gone = {}
  for uid, st in pairs(users) do
    if st == -2 then gone[#gone + 1] = uid end
  end
  fanout(g, members)
  fanout(g, gone)
  for _, uid in ipairs(members) do user_state(uid, -2) end
  cover(g) -- the window goes: the offset keeps the call's earlier events done
  W('DEL', g.mk, g.fk, g.sk, g.ck, g.qk, g.gk, g.lk, HK, HMK)
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

