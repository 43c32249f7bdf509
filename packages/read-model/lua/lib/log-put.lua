-- Writing the version logs (lib/log.lua), for the apply scripts (after
-- lib/writes.lua: writes go through W). Each script sets log_max (the
-- entries kept per log, SYNC_LOG_MAX) from its arguments before it writes.
local log_max
local log_versions, log_counts = {}, {} -- log key -> its version and size, as this call left them

-- A new entry (or a newer one for the ID), one version up. A new ID past
-- the bound: the oldest entries go and the floor rises to the newest of
-- them (the marker LOG_FLOOR sorts first).
local function log_put(key, id, state)
  local v = (log_versions[key] or log_version(key)) + 1
  log_versions[key] = v
  if W('ZADD', key, v * 4 + state, id) == 1 then
    local n = log_counts[key]
    if n then n = n + 1 else n = redis.call('ZCARD', key) end
    if n > log_max then
      local marked = redis.call('ZSCORE', key, LOG_FLOOR) and 1 or 0
      if n - marked > log_max then
        local dropped = W('ZPOPMIN', key, n - log_max)
        W('ZADD', key, math.floor(tonumber(dropped[#dropped]) / 4) * 4, LOG_FLOOR)
        n = redis.call('ZCARD', key)
      end
    end
    log_counts[key] = n
  end
  return v
end

-- As log_put, unless the ID's latest entry already says so.
local function log_ensure(key, id, state)
  if log_state(key, id) ~= state then log_put(key, id, state) end
end
