import { GROUP_INFO_FIELDS, NUMERIC_GROUP_FIELDS } from '@imgroups/contracts';
import { luaKeyFunctions } from './keys.js';

/**
 * The Lua scripts. Each runs on one Redis in one call: the apply script
 * makes a chunk of events atomic (a crash lands between chunks, never inside
 * an event), the page script reads the active generation and the page in one
 * snapshot (a query never sees a half-switched generation), the flip script
 * checks a rebuild has caught up and switches the active generation at once.
 */

const STORED_FIELDS = GROUP_INFO_FIELDS.filter((f) => f !== 'memberCount');

/** Lua expression building a group's GroupInfo JSON from `v` (HMGET of STORED_FIELDS) and `count`. */
function cardExpression(): string {
  const parts = GROUP_INFO_FIELDS.map((field, i) => {
    const sep = i === 0 ? '{' : ',';
    if (field === 'memberCount') return `'${sep}"memberCount":' .. count`;
    const idx = STORED_FIELDS.indexOf(field) + 1;
    const value = NUMERIC_GROUP_FIELDS.has(field) ? `(v[${idx}] or '0')` : `cjson.encode(v[${idx}] or '')`;
    return `'${sep}"${field}":' .. ${value}`;
  });
  return `${parts.join(' ..\n    ')} .. '}'`;
}

export const APPLY_SCRIPT = `
${luaKeyFunctions()}
-- ARGV: root, generation ('' = the active one), dedupe window, partition,
--       checkpoint offset ('' = none), JSON batch, crash after N writes ('' = never)
-- Returns {generation written, {outcome per event}}.
local root, gen = ARGV[1], ARGV[2]
if gen == '' then
  gen = redis.call('GET', k_active(root))
  if not gen then return redis.error_reply('NOGEN no active generation under ' .. root) end
end
local window = tonumber(ARGV[3])
local partition = ARGV[4]
local batch = cjson.decode(ARGV[6])
local crashAfter = tonumber(ARGV[7])
local out = {}
local dirty, dirtyList = {}, {}

-- Every write goes through w(). Fault injection for the tests: with ARGV[7]
-- set, the script fails after that many writes, leaving the earlier ones in
-- place exactly as a Redis error half-way (out of memory) would. The write
-- order below is chosen so that re-delivering the events completes the work.
local writes = 0
local function w(...)
  if crashAfter then
    if writes >= crashAfter then return redis.error_reply('INJECTED crash after ' .. writes .. ' writes') end
    writes = writes + 1
  end
  return redis.call(...)
end
local function check(reply)
  if type(reply) == 'table' and reply.err then error(reply) end
  return reply
end
local function W(...) return check(w(...)) end

local function touch(gid)
  if not dirty[gid] then dirty[gid] = true; dirtyList[#dirtyList + 1] = gid end
end

-- The user's side first, the group's member set last: the member set is what
-- says "done", so a half-done add is finished by the redelivery.
local function addMember(gid, m)
  local mk = k_groupMembers(root, gen, gid)
  if redis.call('ZSCORE', mk, m.u) then return false end
  if W('ZADD', k_userJoined(root, gen, m.u), m.j, gid) == 1 then W('INCR', k_userVersion(root, gen, m.u)) end
  W('HSET', k_groupMemberInfo(root, gen, gid), m.u, cjson.encode({m.r, m.s, m.i, m.o}))
  W('ZADD', mk, m.j, m.u)
  return true
end

local function removeMember(gid, uid)
  local mk = k_groupMembers(root, gen, gid)
  if not redis.call('ZSCORE', mk, uid) then return false end
  if W('ZREM', k_userJoined(root, gen, uid), gid) == 1 then W('INCR', k_userVersion(root, gen, uid)) end
  W('HDEL', k_groupMemberInfo(root, gen, gid), uid)
  W('ZREM', mk, uid)
  return true
end

-- a current member's details {role, joinSource, inviter, operator}, or nil
local function memberDetail(gid, uid)
  local raw = redis.call('HGET', k_groupMemberInfo(root, gen, gid), uid)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function setRole(gid, uid, detail, role)
  detail[1] = role
  W('HSET', k_groupMemberInfo(root, gen, gid), uid, cjson.encode(detail))
end

local function hsetAll(key, fields)
  local args = {}
  for k, v in pairs(fields) do args[#args + 1] = k; args[#args + 1] = v end
  if #args > 0 then W('HSET', key, unpack(args)) end
end

for i, e in ipairs(batch) do
  local gid = e.g
  local ik = k_groupInfo(root, gen, gid)
  local guard = redis.call('HMGET', ik, 'status', '_o', '_p')
  local status, lastOff, lastPart = guard[1], guard[2], guard[3]
  local outcome = 'applied'

  -- Idempotency guards. All of a group's events share a partition, so a
  -- (partition, offset) at or below the last applied one is a redelivery;
  -- a re-sent event (same eventID, later offset) is caught by the window.
  if status and lastPart == partition and tonumber(e.o) <= tonumber(lastOff) then
    outcome = 'duplicate_offset'
    -- A call that failed half-way (e.g. Redis out of memory) keeps its
    -- earlier writes but not its card rebuild; the redelivery repairs it.
    touch(gid)
  elseif status and status ~= '2' and redis.call('ZSCORE', k_groupSeen(root, gen, gid), e.e) then
    outcome = 'duplicate_event'
    touch(gid) -- as above: the card of a call that failed after recording the ID
  elseif e.t == 'create' then
    if status then
      outcome = 'group_exists'
    else
      -- status is written last: it marks the group as existing.
      local st = e.fields.status
      e.fields.status = nil
      hsetAll(ik, e.fields)
      for _, m in ipairs(e.members) do addMember(gid, m) end
      W('HSET', ik, 'status', st)
    end
  elseif not status then
    outcome = 'unknown_group'
  elseif status == '2' then
    outcome = 'group_dismissed'
  elseif e.t == 'patch' then
    hsetAll(ik, e.fields)
  elseif e.t == 'status' then
    W('HSET', ik, 'status', e.status)
  elseif e.t == 'transfer' then
    local to = memberDetail(gid, e.to)
    if not to then
      outcome = 'not_member'
    else
      local from = memberDetail(gid, e.from)
      if from and e.from ~= e.to then setRole(gid, e.from, from, '20') end
      setRole(gid, e.to, to, '100')
      W('HSET', ik, 'ownerUserID', e.to)
    end
  elseif e.t == 'dismiss' then
    -- The group leaves every member's list; its info stays as a tombstone
    -- (status 2, written last) so later events for it are recognised and ignored.
    local mk = k_groupMembers(root, gen, gid)
    for _, uid in ipairs(redis.call('ZRANGE', mk, 0, -1)) do
      if W('ZREM', k_userJoined(root, gen, uid), gid) == 1 then W('INCR', k_userVersion(root, gen, uid)) end
    end
    W('DEL', mk, k_groupMemberInfo(root, gen, gid), k_groupSeen(root, gen, gid))
    W('HSET', ik, 'status', '2')
  elseif e.t == 'join' then
    local added = 0
    for _, m in ipairs(e.members) do
      if addMember(gid, m) then added = added + 1 end
    end
    if added == 0 then outcome = 'already_member' end
  elseif e.t == 'leave' then
    local removed = 0
    for _, uid in ipairs(e.userIDs) do
      if removeMember(gid, uid) then removed = removed + 1 end
    end
    if removed == 0 then outcome = 'not_member' end
  elseif e.t == 'role' then
    local d = memberDetail(gid, e.userID)
    if not d then
      outcome = 'not_member'
    elseif d[1] == '100' then
      outcome = 'is_owner'
    else
      setRole(gid, e.userID, d, e.role)
    end
  else
    return redis.error_reply('unknown op ' .. tostring(e.t))
  end

  -- Record the event against the group unless it was a duplicate. Ignored
  -- events of an existing group are recorded too: they are done. The event ID
  -- goes in before the offset: a crash between the two leaves a redelivery
  -- caught by the window rather than a re-send slipping past it.
  if outcome ~= 'duplicate_offset' and outcome ~= 'duplicate_event' then
    local now = redis.call('HGET', ik, 'status')
    if now then
      if now ~= '2' then
        -- Trim before adding, so the set never holds more than \`window\`
        -- entries and stays in Redis' compact listpack encoding (<= 128).
        local sk = k_groupSeen(root, gen, gid)
        local n = redis.call('ZCARD', sk)
        if n >= window then W('ZREMRANGEBYRANK', sk, 0, n - window) end
        W('ZADD', sk, e.o, e.e)
      end
      W('HSET', ik, '_o', e.o, '_p', partition)
      touch(gid)
    end
  end
  out[i] = outcome
end

-- Pre-serialize each touched group's GroupInfo once per chunk: the page read
-- only concatenates these, so no hash is decoded at query time.
for _, gid in ipairs(dirtyList) do
  local v = redis.call('HMGET', k_groupInfo(root, gen, gid), ${STORED_FIELDS.map((f) => `'${f}'`).join(', ')})
  local ck = k_groupCard(root, gen, gid)
  if v[${STORED_FIELDS.indexOf('status') + 1}] == '2' then
    W('DEL', ck)
  elseif v[${STORED_FIELDS.indexOf('status') + 1}] then
    local count = redis.call('ZCARD', k_groupMembers(root, gen, gid))
    W('SET', ck, ${cardExpression()})
  end
end

if ARGV[5] ~= '' then
  local ckk = k_ckpt(root, gen)
  local prev = redis.call('HGET', ckk, partition)
  if not prev or tonumber(prev) < tonumber(ARGV[5]) then W('HSET', ckk, partition, ARGV[5]) end
end
return {gen, out}
`;

/**
 * A page read's first step. ARGV: root, userID, offset, count. Returns
 * {total, gen, cardKey...}: the user's group count and the card keys of the
 * page, from one snapshot ({0, ''} when no generation is active). The caller
 * fetches the cards with one MGET, outside Lua: bringing ~700-byte cards into
 * Lua and joining them there costs Redis about 1 us per KB each way, three
 * times what the MGET costs (bench/README.md). Cost: ZCARD O(1) + ZRANGE
 * O(log N + count), whatever N is.
 */
export const PAGE_KEYS_SCRIPT = `
${luaKeyFunctions()}
local root, uid = ARGV[1], ARGV[2]
local start, count = tonumber(ARGV[3]), tonumber(ARGV[4])
local gen = redis.call('GET', k_active(root))
if not gen then return {0, ''} end
local uk = k_userJoined(root, gen, uid)
local total = redis.call('ZCARD', uk)
local out = {total, gen}
if count == 0 or start >= total then return out end
for i, gid in ipairs(redis.call('ZRANGE', uk, start, start + count - 1)) do
  out[i + 2] = k_groupCard(root, gen, gid)
end
return out
`;

/**
 * The same page in one call, one snapshot: {total, gen, card...}. Read when a
 * card named by PAGE_KEYS_SCRIPT was gone by the time of the MGET (its group
 * dismissed, or its generation retired by a rebuild's switch, in between).
 * A group without a card (a half-failed apply awaiting its redelivery) is left out.
 */
export const PAGE_SCRIPT = `
${luaKeyFunctions()}
local root, uid = ARGV[1], ARGV[2]
local start, count = tonumber(ARGV[3]), tonumber(ARGV[4])
local gen = redis.call('GET', k_active(root))
if not gen then return {0, ''} end
local uk = k_userJoined(root, gen, uid)
local total = redis.call('ZCARD', uk)
local out = {total, gen}
if count == 0 or start >= total then return out end
local keys = redis.call('ZRANGE', uk, start, start + count - 1)
for i, gid in ipairs(keys) do keys[i] = k_groupCard(root, gen, gid) end
-- MGET in chunks: unpack() is bounded by Lua's C stack (~8000 values).
for i = 1, #keys, 1000 do
  for _, card in ipairs(redis.call('MGET', unpack(keys, i, math.min(i + 999, #keys)))) do
    if card then out[#out + 1] = card end
  end
end
return out
`;

/**
 * The generation switch, in one call so no query and no apply can fall
 * between its check and its write. ARGV: active key, rebuild key, retired
 * key, lock key, lock value ('' = not checked), from generation ('' = none
 * active), to generation, from's checkpoint key, to's checkpoint key, now ms.
 * Keys come from keys.ts (keyspace()), passed in rather than rebuilt here.
 *
 * The guard: every partition `from` has applied, `to` has applied at least as
 * far. The live projector applies to whatever `<root>:active` names when each
 * chunk runs, and its next chunk starts right after `from`'s checkpoint, so
 * after the switch it can never skip an event in `to`: what `to` holds beyond
 * that comes back as duplicate_offset, a no-op.
 *
 * Returns {'switched', from} or {reason, detail...}: 'active_changed' (someone
 * else switched), 'lock_lost', 'not_rebuilding' (the rebuild record names
 * another generation or is not running), 'behind' (partition, to's offset,
 * from's offset).
 */
export const FLIP_SCRIPT = `
local activeKey, rebuildKey, retiredKey, lockKey = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lockValue, from, to = ARGV[5], ARGV[6], ARGV[7]
local active = redis.call('GET', activeKey) or ''
if active ~= from then return {'active_changed', active} end
if lockValue ~= '' and redis.call('GET', lockKey) ~= lockValue then return {'lock_lost'} end
local rb = redis.call('HMGET', rebuildKey, 'generation', 'status')
if rb[1] ~= to or rb[2] ~= 'running' then
  return {'not_rebuilding', tostring(rb[1] or ''), tostring(rb[2] or '')}
end
if from ~= '' then
  local done = redis.call('HGETALL', ARGV[8])
  for i = 1, #done, 2 do
    local mine = redis.call('HGET', ARGV[9], done[i])
    if not mine or tonumber(mine) < tonumber(done[i + 1]) then
      return {'behind', done[i], mine or '', done[i + 1]}
    end
  end
  redis.call('SADD', retiredKey, from)
end
redis.call('SET', activeKey, to)
redis.call('HSET', rebuildKey, 'status', 'switched', 'previous', from, 'switchedAt', ARGV[10])
return {'switched', from}
`;

/**
 * Compare-and-act on a lock held by value, so only its holder refreshes or
 * frees it. ARGV: key, expected value, 'refresh' | 'release' | 'replace',
 * ttl ms, new value (replace). Returns 1 when done, 0 when the value differs.
 */
export const LOCK_SCRIPT = `
local key, expected, op = ARGV[1], ARGV[2], ARGV[3]
if redis.call('GET', key) ~= expected then return 0 end
if op == 'refresh' then redis.call('PEXPIRE', key, ARGV[4])
elseif op == 'release' then redis.call('DEL', key)
elseif op == 'replace' then redis.call('SET', key, ARGV[5], 'PX', ARGV[4])
else return redis.error_reply('unknown lock op ' .. tostring(op)) end
return 1
`;

// ---- the related read APIs ---------------------------------------------------
// Each reads the active generation inside the script, like PAGE_SCRIPT: one
// snapshot, so a rebuild's generation switch never lands in the middle of a read.

const STATUS_INDEX = STORED_FIELDS.indexOf('status') + 1;

/**
 * get_groups_info. ARGV: root, groupID... Returns {gen, groupsJSON}: the
 * GroupInfo objects of the known groups, in ARGV order, comma-joined. A live
 * group answers with its card; a dismissed one has no card and is built from
 * its tombstone (the info hash) with memberCount 0, as upstream still returns
 * a dismissed group with status 2. Unknown groups are left out.
 * Cost: one GET per ID (plus one HMGET per dismissed group).
 */
export const GROUPS_INFO_SCRIPT = `
${luaKeyFunctions()}
local root = ARGV[1]
local gen = redis.call('GET', k_active(root))
if not gen then return {'', ''} end
local cards = {}
for i = 2, #ARGV do
  local gid = ARGV[i]
  local card = redis.call('GET', k_groupCard(root, gen, gid))
  if card then
    cards[#cards + 1] = card
  else
    local v = redis.call('HMGET', k_groupInfo(root, gen, gid), ${STORED_FIELDS.map((f) => `'${f}'`).join(', ')})
    if v[${STATUS_INDEX}] == '2' then
      local count = 0
      cards[#cards + 1] = ${cardExpression()}
    end
  end
end
return {gen, table.concat(cards, ',')}
`;

/**
 * get_group_member_list. ARGV: root, groupID, caller userID, caller is an
 * admin ('1' | '0'), offset, count. Returns {outcome, total, membersJSON}:
 * outcome 'ok', 'no_permission' (not a member, not an admin), 'not_found' or
 * 'dismissed'. Membership is checked first, as upstream does, so a non-member
 * learns nothing about the group, not even whether it exists. Members come in
 * join-time order (ties by userID), as GroupMemberFullInfo JSON objects,
 * comma-joined. Cost: ZSCORE + ZCARD + ZRANGE O(log N + count) + count HGETs.
 */
export const MEMBER_PAGE_SCRIPT = `
${luaKeyFunctions()}
local root, gid, caller, admin = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local start, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local gen = redis.call('GET', k_active(root))
local mk = gen and k_groupMembers(root, gen, gid)
if not admin and not (gen and redis.call('ZSCORE', mk, caller)) then return {'no_permission', 0, ''} end
if not gen then return {'not_found', 0, ''} end
local status = redis.call('HGET', k_groupInfo(root, gen, gid), 'status')
if not status then return {'not_found', 0, ''} end
if status == '2' then return {'dismissed', 0, ''} end
local total = redis.call('ZCARD', mk)
if count == 0 or start >= total then return {'ok', total, ''} end
local rows = redis.call('ZRANGE', mk, start, start + count - 1, 'WITHSCORES')
local ik = k_groupMemberInfo(root, gen, gid)
-- Stored values are strings; print them as JSON integers (0 when absent).
local function int(s)
  local n = tonumber(s)
  if not n then return '0' end
  return string.format('%.0f', n)
end
local gidJson = cjson.encode(gid)
local out = {}
for i = 1, #rows, 2 do
  local uid = rows[i]
  -- {roleLevel, joinSource, inviterUserID, operatorUserID}, written with the member
  local raw = redis.call('HGET', ik, uid)
  local d = raw and cjson.decode(raw) or {}
  out[#out + 1] = '{"groupID":' .. gidJson
    .. ',"userID":' .. cjson.encode(uid)
    .. ',"roleLevel":' .. int(d[1])
    .. ',"joinTime":' .. int(rows[i + 1])
    .. ',"nickname":"","faceURL":"","appMangerLevel":0'
    .. ',"joinSource":' .. int(d[2])
    .. ',"operatorUserID":' .. cjson.encode(d[4] or '')
    .. ',"ex":"","muteEndTime":0'
    .. ',"inviterUserID":' .. cjson.encode(d[3] or '')
    .. '}'
end
return {'ok', total, table.concat(out, ',')}
`;

/**
 * get_full_join_group_ids. ARGV: root, userID. Returns {gen, version,
 * {groupID...}}: every group of the user in list order (join time, then
 * groupID) and the user's change counter (the `ver` key, '0' when never set).
 */
export const JOINED_IDS_SCRIPT = `
${luaKeyFunctions()}
local root, uid = ARGV[1], ARGV[2]
local gen = redis.call('GET', k_active(root))
if not gen then return {'', '0', {}} end
local ids = redis.call('ZRANGE', k_userJoined(root, gen, uid), 0, -1)
local version = redis.call('GET', k_userVersion(root, gen, uid)) or '0'
return {gen, version, ids}
`;
