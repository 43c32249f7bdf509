-- Applies a chunk of events to one generation, atomically (a crash lands
-- between chunks, never inside an event). Runs after the rendered key
-- functions, GROUP_FIELDS, WIRE_OPS, lib/writes.lua (W), lib/log.lua,
-- lib/card.lua and lib/wire.lua (scripts.ts assembles it).
--
-- ARGV: root, generation ('' = the active one), dedupe window, partition,
--       checkpoint offset ('' = none), membership tombstones kept per group,
--       the events (wire.ts: a JSON array of strings), entries kept per
--       version log.
-- Returns {generation written, {outcome per event}} (evolve.ts OUTCOMES).
--
-- The info hash of a group holds no group field but `status`: the card is
-- where the fields live. Beside it the guard and bookkeeping fields, all read
-- by one HMGET when a chunk first meets the group:
--
--   status  absent until the group exists; '2' once dismissed (a tombstone)
--   _o _p   offset and partition of the last event recorded against the group
--   _n      byte offset of the memberCount digits in the card
--   _c      the memberCount the card holds
--   _s      how many event keys the dedupe window holds
--   _t      a dismissed group's GroupInfo (status 2, memberCount 0)
--   _q      the seq of the last change to the group's own info (v1.1)
--   _f      the membership floor: the highest seq of a tombstone dropped
--   _m      '1' once any membership has a seq (mseq / gone hold versions)
--   _r      the member log's version of the last change to the members'
--           order (a role, a join time): the sync routes' sortVersion
--
-- _o, _c and _s are written once per group at the end of a chunk, after the
-- card (_o earlier when the window is about to forget a key of the same
-- call, or is dropped by a dismissal). A call that fails between those
-- writes leaves them behind the keys they describe; its redelivery then
-- meets the group's recorded events first (duplicates), and a duplicate, or
-- any member add or remove that finds the work half done, makes the chunk
-- re-read the truth (ZCARD, the card's own digits) instead of trusting _c
-- and _s.
local call = redis.call
local root, gen = ARGV[1], ARGV[2]
if gen == '' then
  gen = call('GET', k_active(root))
  if not gen then return redis.error_reply('NOGEN no active generation under ' .. root) end
end
local window = tonumber(ARGV[3])
local partition = ARGV[4]
local checkpoint = ARGV[5]
local tombstones = tonumber(ARGV[6])
local A = cjson.decode(ARGV[7])
local log_max = tonumber(ARGV[8])
local out = {}

-- Version logs (lib/log.lua). Each entry is written in the same call as the
-- change it records and before it: a call that fails in between leaves the
-- change to its redelivery, which finds the entry written (log_ensure) or
-- writes it. A redelivery of a finished change finds nothing to do and adds
-- nothing to a log.
local versions = {} -- log key -> its version, as this call advanced it
local function log_put(key, id, state)
  local v = (versions[key] or log_version(key)) + 1
  versions[key] = v
  if W('ZADD', key, v * 4 + state, id) == 1 then
    -- A new ID: past the bound the oldest entries go and the floor rises
    -- to the newest of them (the marker LOG_FLOOR sorts first).
    local n = call('ZCARD', key)
    if n > log_max then
      local marked = call('ZSCORE', key, LOG_FLOOR) and 1 or 0
      if n - marked > log_max then
        local dropped = W('ZPOPMIN', key, n - log_max)
        W('ZADD', key, math.floor(tonumber(dropped[#dropped]) / 4) * 4, LOG_FLOOR)
      end
    end
  end
  return v
end

-- As log_put, unless the ID's latest entry already says so.
local function log_ensure(key, id, state)
  if log_state(key, id) ~= state then log_put(key, id, state) end
end

-- The groups this chunk touches: keys and info fields read once, then kept
-- here as the chunk changes them.
local groups, touched = {}, {}
local function group(gid)
  local g = groups[gid]
  if g then return g end
  local ik = k_groupInfo(root, gen, gid)
  local v = call('HMGET', ik, 'status', '_o', '_p', '_n', '_c', '_s', '_q', '_f', '_m')
  g = {
    id = gid, ik = ik, ck = k_groupCard(root, gen, gid), mk = k_groupMembers(root, gen, gid),
    fk = k_groupMemberInfo(root, gen, gid), sk = k_groupSeen(root, gen, gid),
    qk = k_groupMemberSeq(root, gen, gid), gk = k_groupGone(root, gen, gid),
    lk = k_groupMemberLog(root, gen, gid),
    status = v[1], off = v[2], part = v[3], pos = tonumber(v[4]),
    c0 = tonumber(v[5]), seen = tonumber(v[6]), delta = 0, fresh = 0,
    q = tonumber(v[7]) or 0, floor = tonumber(v[8]) or 0, versioned = v[9] == '1',
  }
  g.verify = not g.c0 -- nothing to trust
  groups[gid] = g
  touched[#touched + 1] = g
  return g
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
  if body == g.raw then return end
  log_put(g.lk, '', LOG_CHANGED)
  W('SET', g.ck, body)
  g.raw = body
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

-- A snapshot in parts is held in the group's slot until its last part, then
-- applied in one step, so no reader sees a member list mixed from two
-- states. Parts are consecutive on the partition: part 1 starts over, any
-- other part must be the next one of the same snapshot (same seq, same
-- number of parts) or it is an orphan, ignored. Returns every member once
-- the last part is in, else nil and the outcome.
local function stage(g, e, part, parts)
  local hk, sk = k_groupSnapshot(root, gen, g.id), k_groupSnapshotMembers(root, gen, g.id)
  local id = (e.seq or '') .. '/' .. parts
  if part == 1 then
    W('DEL', hk, sk)
  else
    local h = call('HMGET', hk, 'id', 'next')
    if h[1] ~= id or tonumber(h[2]) ~= part then return nil, 'snapshot_part_orphan' end
  end
  if part < parts then
    for _, m in ipairs(e.members) do W('HSET', sk, m.userID, m.joinTime .. '|' .. m.detail) end
    W('HSET', hk, 'id', id, 'next', part + 1)
    return nil, 'snapshot_part_held'
  end
  local all = {}
  local held = call('HGETALL', sk)
  for x = 1, #held, 2 do
    local j, d = string.match(held[x + 1], '^(%d+)|(.*)$')
    all[#all + 1] = {userID = held[x], joinTime = j, detail = d}
  end
  for _, m in ipairs(e.members) do all[#all + 1] = m end
  return all
end

-- group.snapshot: the group as it was at seq. Unknown: created from it (or
-- known from now on as dismissed). Known: its info replaced when the
-- snapshot is newer; members decided one by one by their versions: those
-- in the snapshot join or take its join time and detail, those absent leave.
local function apply_snapshot(g, c, members, s)
  if not g.status then
    if c.status == '2' then
      record_group(g, s)
      W('HSET', g.ik, '_t', (card(c, 0)), 'status', '2')
      g.status = '2'
    else
      create(g, c, members, s)
    end
    return
  end
  if newer_group(g, s) then
    if c.status == '2' then
      dismiss(g)
      record_group(g, s)
      return
    end
    local cur = live_card(g)
    if cur then
      c.memberCount = cur.memberCount
      rewrite(g, c)
    end
    if c.status ~= g.status then
      W('HSET', g.ik, 'status', c.status)
      g.status = c.status
    end
    record_group(g, s)
  end
  local listed = {}
  for _, m in ipairs(members) do
    listed[m.userID] = true
    if newer_member(g, m.userID, s) then
      if not add_member(g, m) then rejoin(g, m) end
      record_member(g, m.userID, s, true)
    end
  end
  for _, uid in ipairs(call('ZRANGE', g.mk, 0, -1)) do
    if not listed[uid] and newer_member(g, uid, s) then
      remove_member(g, uid)
      record_member(g, uid, s, false)
    end
  end
end

-- Past the bound, the oldest tombstones go and the floor rises to them.
local function trim_tombstones(g)
  local n = call('ZCARD', g.gk)
  if n <= tombstones then return end
  local dropped = call('ZPOPMIN', g.gk, n - tombstones)
  local top = tonumber(dropped[#dropped])
  if top > g.floor then
    W('HSET', g.ik, '_f', top)
    g.floor = top
  end
end

local k = 0
for e in wire_events(A) do
  k = k + 1
  local op, off, s = e.op, e.offset, tonumber(e.seq)
  local g = group(e.groupID)
  local status = g.status
  local outcome = 'applied'

  -- Idempotency guards. All of a group's events share a partition, so a
  -- (partition, offset) at or below the last applied one is a redelivery;
  -- a re-sent event (same event key, later offset) is caught by the window.
  if status and g.part == partition and tonumber(off) <= tonumber(g.off) then
    outcome = 'duplicate_offset'
    -- Perhaps the redelivery of a call that failed half-way: re-read what
    -- it may have left behind (see above).
    g.verify, g.seen = true, nil
  elseif status and status ~= '2' and call('ZSCORE', g.sk, e.key) then
    outcome = 'duplicate_event'
    g.verify, g.seen = true, nil -- as above
  elseif op == 'create' then
    if status then
      outcome = 'group_exists'
    else
      create(g, e.fields, e.members, s)
    end
  elseif status == '2' then
    outcome = 'group_dismissed'
  elseif op == 'snapshot' then
    local members, held = e.members, nil
    local part, parts = tonumber(e.part), tonumber(e.parts)
    if parts > 1 then members, held = stage(g, e, part, parts) end
    if members then
      apply_snapshot(g, e.fields, members, s)
      if parts > 1 then W('DEL', k_groupSnapshot(root, gen, g.id), k_groupSnapshotMembers(root, gen, g.id)) end
    else
      outcome = held
    end
  elseif not status then
    outcome = 'unknown_group'
  elseif op == 'join' then
    local added, stale = 0, 0
    for _, m in ipairs(e.members) do
      if not newer_member(g, m.userID, s) then
        stale = stale + 1
      else
        if add_member(g, m) then
          added = added + 1
        elseif s then
          rejoin(g, m)
          added = added + 1
        end
        record_member(g, m.userID, s, true)
      end
    end
    if added == 0 then outcome = stale > 0 and 'stale_seq' or 'already_member' end
  elseif op == 'leave' then
    local removed, stale = 0, 0
    for _, uid in ipairs(e.userIDs) do
      if not newer_member(g, uid, s) then
        stale = stale + 1
      else
        if remove_member(g, uid) then removed = removed + 1 end
        record_member(g, uid, s, false)
      end
    end
    if removed == 0 then outcome = stale > 0 and 'stale_seq' or 'not_member' end
  elseif op == 'role' then
    local d = call('HGET', g.fk, e.userID)
    if not newer_member(g, e.userID, s) then
      outcome = 'stale_seq'
    elseif not d then
      outcome = 'not_member'
    elseif string.match(d, '^%d+') == '100' then
      outcome = 'is_owner'
    else
      local nd = with_role(d, e.role)
      if nd ~= d then
        log_member_change(g, e.userID, true)
        W('HSET', g.fk, e.userID, nd)
      end
      record_member(g, e.userID, s, true)
    end
  elseif not newer_group(g, s) then
    -- patch, status, transfer, dismiss: changes of the group's own info
    outcome = 'stale_seq'
  elseif op == 'patch' then
    local c = live_card(g)
    if c then
      for f, v in pairs(e.fields) do c[f] = v end
      rewrite(g, c)
    end
    record_group(g, s)
  elseif op == 'status' then
    local c = live_card(g)
    if c then
      c.status = e.status
      rewrite(g, c)
    end
    W('HSET', g.ik, 'status', e.status)
    g.status = e.status
    record_group(g, s)
  elseif op == 'transfer' then
    local from, to = e.from, e.to
    local td = call('HGET', g.fk, to)
    if not td then
      outcome = 'not_member'
    else
      -- The old owner takes the role the new owner had (20 or 60), as
      -- upstream's TransferGroupOwner does. A new owner who already owns
      -- the group (this transfer half-applied by a call that failed, the old
      -- owner first) leaves the old owner's role alone.
      local was = string.match(td, '^%d+')
      if from ~= to and was ~= '100' and newer_member(g, from, s) then
        local fd = call('HGET', g.fk, from)
        if fd then
          log_member_change(g, from, true)
          W('HSET', g.fk, from, with_role(fd, was))
          record_member(g, from, s, true)
        end
      end
      if newer_member(g, to, s) then
        if was ~= '100' then
          log_member_change(g, to, true)
          W('HSET', g.fk, to, with_role(td, '100'))
        end
        record_member(g, to, s, true)
      end
      local c = live_card(g)
      if c then
        c.ownerUserID = to
        rewrite(g, c)
      end
      record_group(g, s)
    end
  elseif op == 'dismiss' then
    dismiss(g)
  end
  -- A stale change may be the redelivery of a call that failed half-way
  -- (stale memberships set verify in newer_member).
  if outcome == 'stale_seq' then g.verify = true end
  -- The bound holds after every event, so what an event finds does not
  -- depend on how the events were chunked.
  if g.tombs then
    if g.status ~= '2' then trim_tombstones(g) end
    g.tombs = false
  end

  -- Record the event against the group unless it was a duplicate. Ignored
  -- events of an existing group are recorded too: they are done. The event
  -- key goes in the window now, the offset at the end of the chunk: a crash
  -- between the two leaves a redelivery caught by the window.
  if outcome ~= 'duplicate_offset' and outcome ~= 'duplicate_event' and g.status then
    if g.status ~= '2' then
      -- Trim before adding, so the set never holds more than `window`
      -- entries and stays in Redis' compact listpack encoding (<= 128).
      local seen = g.seen or call('ZCARD', g.sk)
      if seen >= window then
        -- About to forget a key this call recorded (a group with more than
        -- `window` events in the chunk): its offset goes in first, or a
        -- redelivery after a failure would apply that event again.
        if g.fresh >= window then cover(g) end
        W('ZREMRANGEBYRANK', g.sk, 0, seen - window)
        seen = window - 1
      end
      W('ZADD', g.sk, off, e.key)
      g.seen, g.seenDirty, g.fresh = seen + 1, true, g.fresh + 1
    end
    g.off, g.part, g.record = off, partition, true
  end
  out[k] = outcome
end

-- Per group: the card's count, then the bookkeeping in one HSET.
for _, g in ipairs(touched) do
  local h = {}
  if g.status and g.status ~= '2' then
    if g.verify then
      local s = call('ZCARD', g.mk)
      set_count(g, tostring(s), nil)
      h[#h + 1] = '_c'; h[#h + 1] = s
      if not g.seen then g.seen = call('ZCARD', g.sk) end
      g.seenDirty = true
    elseif g.delta ~= 0 then
      local s = g.c0 + g.delta
      set_count(g, tostring(s), tostring(g.c0))
      h[#h + 1] = '_c'; h[#h + 1] = s
    end
    if g.seenDirty then h[#h + 1] = '_s'; h[#h + 1] = g.seen end
  end
  if g.record then h[#h + 1] = '_o'; h[#h + 1] = g.off; h[#h + 1] = '_p'; h[#h + 1] = partition end
  if #h > 0 then W('HSET', g.ik, unpack(h)) end
end

if checkpoint ~= '' then
  local ckk = k_ckpt(root, gen)
  local prev = call('HGET', ckk, partition)
  if not prev or tonumber(prev) < tonumber(checkpoint) then W('HSET', ckk, partition, checkpoint) end
end
return {gen, out}
