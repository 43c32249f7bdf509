import { GROUP_INFO_FIELDS, NUMERIC_GROUP_FIELDS, type GroupInfoField } from '@imgroups/contracts';
import { luaKeyFunctions } from './keys.js';

/**
 * The Lua scripts. Each runs on one Redis in one call: the apply script
 * makes a chunk of events atomic (a crash lands between chunks, never inside
 * an event), the page script reads the active generation and the page in one
 * snapshot (a query never sees a half-switched generation), the flip script
 * checks a rebuild has caught up and switches the active generation at once.
 */

/** The stored group fields, in the order the create op carries them: everything in GroupInfo but memberCount (ZCARD). */
export const STORED_FIELDS = GROUP_INFO_FIELDS.filter((f) => f !== 'memberCount');

/**
 * Lua `card(c, count)`: the group's GroupInfo JSON from `c` (field -> value;
 * numeric fields as decimal strings, or numbers when `c` is a decoded card)
 * and the count, plus the byte offset of the count's digits in it (what
 * `_n` in the info hash records, so a count change is a SETRANGE).
 * Strings go through cjson.encode, as they always have: a card re-encoded
 * from a decoded one is byte for byte the card the same fields would give.
 */
const CARD_LUA = (() => {
  const at = GROUP_INFO_FIELDS.indexOf('memberCount');
  const part = (field: string, i: number) => {
    const sep = i === 0 ? '{' : ',';
    const value = NUMERIC_GROUP_FIELDS.has(field as GroupInfoField) ? `num(c.${field})` : `cjson.encode(c.${field} or '')`;
    return `'${sep}"${field}":' .. ${value}`;
  };
  const head = GROUP_INFO_FIELDS.slice(0, at).map(part);
  const tail = GROUP_INFO_FIELDS.slice(at + 1).map((f, i) => part(f, i + at + 1));
  return `
-- integers print as they came (%.0f is exact below 2^53; cjson would print 1.7e+12)
local function num(v)
  if v == nil then return '0' end
  if type(v) == 'number' then return string.format('%.0f', v) end
  return v
end
local function card(c, count)
  local head = ${head.join(' ..\n    ')} .. ',"memberCount":'
  return head .. count .. ${tail.join(' ..\n    ')} .. '}', #head
end
`;
})();

/**
 * Lua `parse_detail`: a member's `minfo` value, as ReadModel writes it
 * (memberDetail()), back to role, joinSource, inviter, operator.
 */
const DETAIL_LUA = `
local function parse_detail(raw)
  local role, source, n, at = string.match(raw, '^(%d+)|(%d+)|(%d+)|()')
  n = tonumber(n)
  return role, source, string.sub(raw, at, at + n - 1), string.sub(raw, at + n)
end
`;

/** What comes right before a card's count digits. */
const COUNT_PREFIX = '"memberCount":';

/**
 * The info hash of a group holds no group field but `status`: the card is
 * where the fields live. Beside it the guard and bookkeeping fields, all read
 * by one HMGET when a chunk first meets the group:
 *
 *   status  absent until the group exists; '2' once dismissed (a tombstone)
 *   _o _p   offset and partition of the last event recorded against the group
 *   _n      byte offset of the memberCount digits in the card
 *   _c      the memberCount the card holds
 *   _s      how many event keys the dedupe window holds
 *   _t      a dismissed group's GroupInfo (status 2, memberCount 0)
 *
 * _o, _c and _s are written once per group at the end of a chunk, after the
 * card (_o earlier when the window is about to forget a key of the same
 * call, or is dropped by a dismissal). A call that fails between those writes leaves them behind the keys
 * they describe; its redelivery then meets the group's recorded events first
 * (duplicates), and a duplicate, or any member add or remove that finds the
 * work half done, makes the chunk re-read the truth (ZCARD, the card's own
 * digits) instead of trusting _c and _s.
 */
export const APPLY_SCRIPT = `
${luaKeyFunctions()}
${CARD_LUA}
-- ARGV: root, generation ('' = the active one), dedupe window, partition,
--       checkpoint offset ('' = none), crash after N writes ('' = never),
--       the events: a JSON array of strings, flat: op, groupID, offset,
--       event key, operands (ReadModel's wire format).
-- Returns {generation written, {outcome per event}}.
local call = redis.call
local root, gen = ARGV[1], ARGV[2]
if gen == '' then
  gen = call('GET', k_active(root))
  if not gen then return redis.error_reply('NOGEN no active generation under ' .. root) end
end
local window = tonumber(ARGV[3])
local partition = ARGV[4]
local crashAfter = tonumber(ARGV[6])
local A = cjson.decode(ARGV[7])
local FIELDS = {${STORED_FIELDS.map((f) => `'${f}'`).join(', ')}}
local NF = #FIELDS
local out = {}

-- Every write goes through W(). Fault injection for the tests: with ARGV[6]
-- set, the script fails after that many writes, leaving the earlier ones in
-- place exactly as a Redis error half-way (out of memory) would. The write
-- order below is chosen so that re-delivering the events completes the work.
local W = call
if crashAfter then
  local writes = 0
  W = function(...)
    if writes >= crashAfter then error(redis.error_reply('INJECTED crash after ' .. writes .. ' writes')) end
    writes = writes + 1
    return call(...)
  end
end

-- The groups this chunk touches: keys and info fields read once, then kept
-- here as the chunk changes them.
local groups, touched = {}, {}
local function group(gid)
  local g = groups[gid]
  if g then return g end
  local ik = k_groupInfo(root, gen, gid)
  local v = call('HMGET', ik, 'status', '_o', '_p', '_n', '_c', '_s')
  g = {
    id = gid, ik = ik, ck = k_groupCard(root, gen, gid), mk = k_groupMembers(root, gen, gid),
    fk = k_groupMemberInfo(root, gen, gid), sk = k_groupSeen(root, gen, gid),
    status = v[1], off = v[2], part = v[3], pos = tonumber(v[4]),
    c0 = tonumber(v[5]), seen = tonumber(v[6]), delta = 0, fresh = 0,
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
  return raw and cjson.decode(raw)
end

-- Rare (patches, status changes, transfers): decode, change, re-encode; the
-- count stays what the card says, the end of the chunk brings it up to date.
local function rewrite(g, c)
  local body, pos = card(c, num(c.memberCount))
  W('SET', g.ck, body)
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
  if g.pos then
    if not old then
      local near = call('GETRANGE', g.ck, g.pos - ${COUNT_PREFIX.length}, g.pos + 11)
      if string.sub(near, 1, ${COUNT_PREFIX.length}) == '${COUNT_PREFIX}' then old = string.match(near, '^%d+', ${COUNT_PREFIX.length + 1}) end
    end
    if old == s then return end
    if old and #old == #s then
      W('SETRANGE', g.ck, g.pos, s)
      return
    end
    raw = call('GET', g.ck)
    if not raw then return end
    if old and string.sub(raw, g.pos - ${COUNT_PREFIX.length - 1}, g.pos) == '${COUNT_PREFIX}' then
      W('SET', g.ck, string.sub(raw, 1, g.pos) .. s .. string.sub(raw, g.pos + #old + 1))
      return
    end
  else
    raw = call('GET', g.ck)
    if not raw then return end
  end
  -- Every key is followed by ':' and every string value by ',' or '}', and a
  -- quote inside a value is escaped, so this finds the key, never a value.
  local _, b = string.find(raw, '${COUNT_PREFIX}', 1, true)
  local e = string.find(raw, ',', b + 1, true)
  if string.sub(raw, b + 1, e - 1) ~= s then W('SET', g.ck, string.sub(raw, 1, b) .. s .. string.sub(raw, e)) end
  if g.pos ~= b then
    W('HSET', g.ik, '_n', b)
    g.pos = b
  end
end

-- The user's side first, the group's member set last: the member set is what
-- says "done", so a half-done add is finished by the redelivery. A group new
-- to the user's set means a new member (a half-done remove is always
-- finished first: it is the earlier event); else the member set decides.
local function add_member(g, a)
  local u, j = A[a], A[a + 2] -- userID, member detail, joinTime
  local uk = k_userJoined(root, gen, u)
  if W('ZADD', uk, 'NX', j, g.id) == 1 then
    W('INCR', k_userVersion(root, gen, u))
  else
    g.verify = true
    if call('ZSCORE', g.mk, u) then return false end
    W('ZADD', uk, j, g.id)
  end
  W('HSET', g.fk, u, A[a + 1])
  W('ZADD', g.mk, j, u)
  g.delta = g.delta + 1
  return true
end

local function remove_member(g, uid)
  if W('ZREM', k_userJoined(root, gen, uid), g.id) == 1 then
    W('INCR', k_userVersion(root, gen, uid))
  else
    g.verify = true
    if not call('ZSCORE', g.mk, uid) then return false end
  end
  W('HDEL', g.fk, uid)
  W('ZREM', g.mk, uid)
  g.delta = g.delta - 1
  return true
end

local function with_role(raw, role)
  return role .. string.sub(raw, (string.find(raw, '|', 1, true)))
end

local i, n, k = 1, #A, 0
while i <= n do
  local op, gid, off, key = A[i], A[i + 1], A[i + 2], A[i + 3]
  local a = i + 4 -- the operands
  if op == 'j' then i = a + 1 + 3 * tonumber(A[a])
  elseif op == 'l' then i = a + 1 + tonumber(A[a])
  elseif op == 'r' or op == 't' then i = a + 2
  elseif op == 'c' then i = a + NF + 1 + 3 * tonumber(A[a + NF])
  elseif op == 'p' then i = a + 1 + 2 * tonumber(A[a])
  elseif op == 's' then i = a + 1
  elseif op == 'd' then i = a
  else return redis.error_reply('unknown op ' .. tostring(op)) end
  k = k + 1
  local g = group(gid)
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
  elseif status and status ~= '2' and call('ZSCORE', g.sk, key) then
    outcome = 'duplicate_event'
    g.verify, g.seen = true, nil -- as above
  elseif op == 'c' then
    if status then
      outcome = 'group_exists'
    else
      local c = {}
      for f = 1, NF do c[FIELDS[f]] = A[a + f - 1] end
      for m = a + NF + 1, i - 1, 3 do add_member(g, m) end
      local count = call('ZCARD', g.mk)
      local body, pos = card(c, count)
      W('SET', g.ck, body)
      -- status is written last: it marks the group as existing.
      W('HSET', g.ik, '_n', pos, '_c', count, 'status', c.status)
      g.status, g.pos, g.c0, g.delta, g.verify = c.status, pos, count, 0, false
    end
  elseif not status then
    outcome = 'unknown_group'
  elseif status == '2' then
    outcome = 'group_dismissed'
  elseif op == 'j' then
    local added = 0
    for m = a + 1, i - 1, 3 do
      if add_member(g, m) then added = added + 1 end
    end
    if added == 0 then outcome = 'already_member' end
  elseif op == 'l' then
    local removed = 0
    for m = a + 1, i - 1 do
      if remove_member(g, A[m]) then removed = removed + 1 end
    end
    if removed == 0 then outcome = 'not_member' end
  elseif op == 'r' then
    local uid = A[a]
    local d = call('HGET', g.fk, uid)
    if not d then
      outcome = 'not_member'
    elseif string.match(d, '^%d+') == '100' then
      outcome = 'is_owner'
    else
      W('HSET', g.fk, uid, with_role(d, A[a + 1]))
    end
  elseif op == 'p' then
    local c = live_card(g)
    if c then
      for f = a + 1, i - 1, 2 do c[A[f]] = A[f + 1] end
      rewrite(g, c)
    end
  elseif op == 's' then
    local c = live_card(g)
    if c then
      c.status = A[a]
      rewrite(g, c)
    end
    W('HSET', g.ik, 'status', A[a])
    g.status = A[a]
  elseif op == 't' then
    local from, to = A[a], A[a + 1]
    local td = call('HGET', g.fk, to)
    if not td then
      outcome = 'not_member'
    else
      if from ~= to then
        local fd = call('HGET', g.fk, from)
        if fd then W('HSET', g.fk, from, with_role(fd, '20')) end
      end
      W('HSET', g.fk, to, with_role(td, '100'))
      local c = live_card(g)
      if c then
        c.ownerUserID = to
        rewrite(g, c)
      end
    end
  elseif op == 'd' then
    -- The group leaves every member's list and its card goes; the info hash
    -- stays as a tombstone (status 2, written last) so later events for it
    -- are recognised and ignored, keeping the GroupInfo get_groups_info
    -- answers for it (_t, from the card, before the card goes).
    local raw = call('GET', g.ck)
    if raw then
      local c = cjson.decode(raw)
      c.status = '2'
      W('HSET', g.ik, '_t', (card(c, 0)))
    end
    for _, uid in ipairs(call('ZRANGE', g.mk, 0, -1)) do
      if W('ZREM', k_userJoined(root, gen, uid), gid) == 1 then W('INCR', k_userVersion(root, gen, uid)) end
    end
    cover(g) -- the window goes: the offset keeps the chunk's earlier events done
    W('DEL', g.mk, g.fk, g.sk, g.ck)
    W('HSET', g.ik, 'status', '2')
    g.status = '2'
  end

  -- Record the event against the group unless it was a duplicate. Ignored
  -- events of an existing group are recorded too: they are done. The event
  -- key goes in the window now, the offset at the end of the chunk: a crash
  -- between the two leaves a redelivery caught by the window.
  if outcome ~= 'duplicate_offset' and outcome ~= 'duplicate_event' and g.status then
    if g.status ~= '2' then
      -- Trim before adding, so the set never holds more than \`window\`
      -- entries and stays in Redis' compact listpack encoding (<= 128).
      local seen = g.seen or call('ZCARD', g.sk)
      if seen >= window then
        -- About to forget a key this call recorded (a group with more than
        -- \`window\` events in the chunk): its offset goes in first, or a
        -- redelivery after a failure would apply that event again.
        if g.fresh >= window then cover(g) end
        W('ZREMRANGEBYRANK', g.sk, 0, seen - window)
        seen = window - 1
      end
      W('ZADD', g.sk, off, key)
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

if ARGV[5] ~= '' then
  local ckk = k_ckpt(root, gen)
  local prev = call('HGET', ckk, partition)
  if not prev or tonumber(prev) < tonumber(ARGV[5]) then W('HSET', ckk, partition, ARGV[5]) end
end
return {gen, out}
`;

/**
 * Both page scripts begin alike. ARGV: root, userID, offset, count. From one
 * snapshot of the active generation: `out` = {total, gen} ({0, ''} when none
 * is active, returned at once) and `keys`, the card keys of the page.
 * Cost: ZCARD O(1) + ZRANGE O(log N + count), whatever N is.
 */
const PAGE_HEAD = `
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
`;

/**
 * A page read's first step: {total, gen, cardKey...}. The caller fetches the
 * cards with one MGET, outside Lua: bringing ~700-byte cards into Lua and
 * joining them there costs Redis about 1 us per KB each way, three times
 * what the MGET costs (bench/README.md).
 */
export const PAGE_KEYS_SCRIPT = `${PAGE_HEAD}
for i, key in ipairs(keys) do out[i + 2] = key end
return out
`;

/**
 * The same page in one call, one snapshot: {total, gen, card...}. Read when a
 * card named by PAGE_KEYS_SCRIPT was gone by the time of the MGET (its group
 * dismissed, or its generation retired by a rebuild's switch, in between).
 * A group without a card (a half-failed apply awaiting its redelivery) is left out.
 */
export const PAGE_SCRIPT = `${PAGE_HEAD}
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

/**
 * get_groups_info. ARGV: root, groupID... Returns {gen, groupsJSON}: the
 * GroupInfo objects of the known groups, in ARGV order, comma-joined. A live
 * group answers with its card; a dismissed one has no card and answers with
 * the GroupInfo its tombstone keeps (`_t` in the info hash: status 2,
 * memberCount 0), as upstream still returns a dismissed group with status 2.
 * Unknown groups are left out. Cost: one GET per ID (plus one HMGET per
 * dismissed group).
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
    local t = redis.call('HMGET', k_groupInfo(root, gen, gid), 'status', '_t')
    if t[1] == '2' and t[2] then cards[#cards + 1] = t[2] end
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
${DETAIL_LUA}
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
  -- written with the member (read-model.ts memberDetail)
  local raw = redis.call('HGET', ik, uid)
  local role, source, inviter, operator = '0', '0', '', ''
  if raw then role, source, inviter, operator = parse_detail(raw) end
  out[#out + 1] = '{"groupID":' .. gidJson
    .. ',"userID":' .. cjson.encode(uid)
    .. ',"roleLevel":' .. int(role)
    .. ',"joinTime":' .. int(rows[i + 1])
    .. ',"nickname":"","faceURL":"","appMangerLevel":0'
    .. ',"joinSource":' .. int(source)
    .. ',"operatorUserID":' .. cjson.encode(operator)
    .. ',"ex":"","muteEndTime":0'
    .. ',"inviterUserID":' .. cjson.encode(inviter)
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
