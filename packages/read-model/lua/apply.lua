-- Applies one group's events of a chunk, atomically (a crash lands
-- between calls, never inside an event), in the group's hash slot: the
-- group's side of each event. apply.ts splits a chunk by group, runs this
-- per group, then lua/apply-user.lua per user with what this returns, then
-- the checkpoint (lua/checkpoint.lua). Runs after GROUP_FIELDS, WIRE_OPS,
-- lib/writes.lua (W), lib/log.lua, lib/card.lua and lib/wire.lua
-- (scripts.ts assembles it).
--
-- KEYS: the group's keys (keys.ts GROUP_KEYS). ARGV: dedupe window,
--       partition, membership tombstones kept, the events (wire.ts: a JSON
--       array of strings), entries kept per version log.
-- Returns {{outcome per event} (evolve.ts OUTCOMES), {userID, state, ...}
-- (state: join time, -2 no longer a member, -1 not a member: user_state in
-- apply/state.lua), fanout (1: the fanout set holds
-- users; apply.ts deletes it once their lists are done)}.
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
--   _x      '1' while the fanout set may hold users (apply/members.lua fanout)
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
--
-- Assembled from parts (scripts.ts): apply/state.lua (arguments, the
-- version logs' writes, the touched groups, cards and counts),
-- apply/members.lua (members, seq versions, dismissal, creation),
-- apply/snapshot.lua (snapshots, tombstones), then this file: each event
-- through the guards to its operation, then each group's bookkeeping.

local k = 0
for e in wire_events(A) do
  k = k + 1
  local op, off, s = e.op, e.offset, tonumber(e.seq)
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
      if parts > 1 then W('DEL', HK, HMK) end
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
  -- Users this event names but did not change: as the group has them now.
  local named = (op == 'join' or op == 'create' or op == 'snapshot') and e.members or (op == 'leave' and e.userIDs) or nil
  if named then
    for _, m in ipairs(named) do
      local uid = m.userID or m
      if users[uid] == nil then
        users[uid] = call('ZSCORE', g.mk, uid) or (log_state(g.lk, uid) == LOG_LEFT and -2 or -1)
      end
    end
  end
end

-- The card's count, then the bookkeeping in one HSET.
do
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

-- The users' side: every state this call set or settled, and every user
-- the fanout set holds (a dismissal's or a snapshot's leaves, perhaps of an
-- earlier call whose users' side never ran).
local states = {}
if g.fanout then
  for _, uid in ipairs(call('ZRANGE', g.ok, 0, -1)) do
    -- (-1 settled by a redelivered event of a dismissed group, whose member
    -- log is gone: the fanout set knows better.)
    if users[uid] == nil or users[uid] == -1 then users[uid] = -2 end
  end
end
for uid, st in pairs(users) do
  states[#states + 1] = uid
  states[#states + 1] = st
end
return done({out, states, g.fanout and 1 or 0})
