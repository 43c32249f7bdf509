-- Version logs (the SDK's incremental sync; docs/http-api.md "Group sync").
-- A log is a ZSET: ID -> version * 4 + state, one entry per ID (its latest
-- change), at most SYNC_LOG_MAX entries (the oldest go; the floor marker
-- then says up to which version). A log's version is its newest entry's,
-- which is never dropped; versions count 1, 2, 3... per log.
--
--   a user's join log   groupID -> 1 joined, 2 left
--   a group's member log userID -> 1 joined, 2 left, 3 changed (role, join
--                        time, details); '' -> 3 the group's own info changed
--
-- Used by the apply script (after lib/writes.lua: writes go through W) and
-- by the sync read scripts.
local LOG_JOINED, LOG_LEFT, LOG_CHANGED = 1, 2, 3

-- A log's version: 0 when it has no entry.
local function log_version(key)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then return math.floor(tonumber(top[2]) / 4) end
  return 0
end

-- The state of an ID's latest entry, or nil.
local function log_state(key, id)
  local score = redis.call('ZSCORE', key, id)
  return score and tonumber(score) % 4
end

-- Versions of a log from which a client can still catch up: those >= the
-- floor, the newest version among the entries dropped (0: none dropped).
-- The marker that holds it is an ID no user or group has (IDs hold no ':').
local LOG_FLOOR = ':'
local function log_floor(key)
  local score = redis.call('ZSCORE', key, LOG_FLOOR)
  return score and math.floor(tonumber(score) / 4) or 0
end
