-- The apply script's state (apply.lua is the whole story; scripts.ts
-- assembles the parts in order: state.lua, members.lua, snapshot.lua, then
-- apply.lua's loop): the arguments, the version logs' writes, the group and
-- its card, the users whose side the call leaves to apply-user.lua.
local call = redis.call
-- KEYS: the group's keys, in keys.ts GROUP_KEYS order (one hash slot).
local IK, CK, MK, FK, SK, QK, GK, HK, HMK, LK, OK = unpack(KEYS)
local window = tonumber(ARGV[1])
local partition = ARGV[2]
local tombstones = tonumber(ARGV[3])
local A = cjson.decode(ARGV[4])
log_max = tonumber(ARGV[5]) -- lib/log-put.lua's
local out = {}

-- The users' side of the call (apply.ts runs apply-user.lua per user after
-- this call): the state each user named by an event must have for this
-- group once the call is done: a join time; -2, not a member any more (it
-- left, or the group went: the join log says so); -1, not a member (nothing
-- to log unless the user's list still has the group). A change the call
-- makes sets its user's state (user_state); a user an event names but does
-- not change (a duplicate, a stale or no-op change: perhaps the redelivery
-- of a call whose users' side never ran) takes, right after that event, the
-- member set's and member log's word (settle), before a later event of the
-- call can drop what says it (a dismissal drops the member log).
local users = {}
local function user_state(uid, state)
  users[uid] = state
end

-- Version logs (lib/log.lua, written by lib/log-put.lua). Each entry is
-- written in the same call as the change it records and before it: a call
-- that fails in between leaves the change to its redelivery, which finds
-- the entry written (log_ensure) or writes it. A redelivery of a finished
-- change finds nothing to do and adds nothing to a log.

-- The group: keys and info fields read once, then kept here as the call
-- changes them. Every event of the call is this group's (apply.ts splits a
-- chunk by group).
local g
do
  local v = call('HMGET', IK, 'status', '_o', '_p', '_n', '_c', '_s', '_q', '_f', '_m', '_x')
  g = {
    ik = IK, ck = CK, mk = MK, fk = FK, sk = SK, qk = QK, gk = GK, lk = LK, ok = OK,
    status = v[1], off = v[2], part = v[3], pos = tonumber(v[4]),
    c0 = tonumber(v[5]), seen = tonumber(v[6]), delta = 0, fresh = 0,
    q = tonumber(v[7]) or 0, floor = tonumber(v[8]) or 0, versioned = v[9] == '1',
  }
  g.verify = not g.c0 -- nothing to trust
  g.fanout = v[10] == '1' -- the fanout set may hold users (see fanout() in members.lua)
end

-- The offset, written now rather than at the end: every event this call
-- recorded against the group counts as done from here on.
local function cover(g)
  if g.fresh > 0 then
    W('HSET', g.ik, '_o', g.off, '_p', partition)
    g.fresh = 0
  end
end

-- A live group without a card is one whose dismissal failed half-way (it
-- drops the card and the window before writing status 2): the events
-- re-applied before the redelivered dismissal finishes have no card to
-- change, and it will not be answered again.
local function live_card(g)
  local raw = call('GET', g.ck)
  g.raw = raw
  return raw and cjson.decode(raw)
end

-- Rare (patches, status changes, transfers): decode, change, re-encode; the
-- count stays what the card says, the end of the chunk brings it up to date.
-- A card that changed is a change of the group's own info in its member log.
local function rewrite(g, c)
  local body, pos = card(c, num(c.memberCount))
  if body ~= g.raw then
    log_put(g.lk, '', LOG_CHANGED)
    W('SET', g.ck, body)
    g.raw = body
  end
  -- Also when the card is already this body: a call that failed after
  -- writing it may not have moved _n (set_count writes the count there).
  if pos ~= g.pos then
    W('HSET', g.ik, '_n', pos)
    g.pos = pos
  end
end

-- Overwrite the card's count digits with s: in place when the length stays
-- (SETRANGE, no bytes through Lua), else spliced. 'old' is what the card
-- holds, when known; a stale _n is noticed and the key looked for.
local function set_count(g, s, old)
  local raw
  local np = #COUNT_PREFIX
  if g.pos then
    if not old then
      local near = call('GETRANGE', g.ck, g.pos - np, g.pos + 11)
      if string.sub(near, 1, np) == COUNT_PREFIX then old = string.match(near, '^%d+', np + 1) end
    end
    if old == s then return end
    if old and #old == #s then
      W('SETRANGE', g.ck, g.pos, s)
      return
    end
    raw = call('GET', g.ck)
    if not raw then return end
    if old and string.sub(raw, g.pos - np + 1, g.pos) == COUNT_PREFIX then
      W('SET', g.ck, string.sub(raw, 1, g.pos) .. s .. string.sub(raw, g.pos + #old + 1))
      return
    end
  else
    raw = call('GET', g.ck)
    if not raw then return end
  end
  -- Every key is followed by ':' and every string value by ',' or '}', and a
  -- quote inside a value is escaped, so this finds the key, never a value.
  local _, b = string.find(raw, COUNT_PREFIX, 1, true)
  local e = string.find(raw, ',', b + 1, true)
  if string.sub(raw, b + 1, e - 1) ~= s then W('SET', g.ck, string.sub(raw, 1, b) .. s .. string.sub(raw, e)) end
  if g.pos ~= b then
    W('HSET', g.ik, '_n', b)
    g.pos = b
  end
end

