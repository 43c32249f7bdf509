-- Version logs (the SDK's incremental sync; docs/http-api.md "Group sync").
-- A log is a ZSET: ID -> version * 4 + state, one entry per ID (its latest
-- change), at most LOG_MAX entries (the oldest go). A log's version is its
-- newest entry's, which is never dropped; versions count 1, 2, 3... per log.
--
--   a user's join log   groupID -> 1 joined, 2 left
--   a group's member log userID -> 1 joined, 2 left, 3 changed (role, join
--                        time, details); '' -> 3 the group's own info changed
--
-- Used by the apply script (after lib/writes.lua: writes go through W) and
-- by the sync read scripts (LOG_* and log_version only).
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
-- result. A log that never reached LOG_MAX entries has dropped nothing (an
-- ID's entry is replaced, never added twice), so every version counts;
-- one that did may have dropped entries up to its oldest kept version - 1.
local function log_floor(key, max)
  if redis.call('ZCARD', key) < max then return 0 end
  local low = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.floor(tonumber(low[2]) / 4) - 1
end
