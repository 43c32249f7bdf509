-- The apply script's group.snapshot and the tombstones' bound (after
-- apply/members.lua; see apply.lua).
-- A snapshot in parts is held in the group's slot until its last part, then
-- applied in one step, so no reader sees a member list mixed from two
-- states. Parts are consecutive on the partition: part 1 starts over, any
-- other part must be the next one of the same snapshot (same seq, same
-- number of parts) or it is an orphan, ignored. Returns every member once
-- the last part is in, else nil and the outcome.
local function stage(g, e, part, parts)
  local hk, sk = HK, HMK
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
      -- No event names this user: the fanout set keeps the leave until the
      -- users' side is done (apply.lua), for the redelivery.
      if remove_member(g, uid) then fanout(g, {uid}) end
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

