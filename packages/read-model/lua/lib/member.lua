-- A group member as upstream's GroupMemberFullInfo JSON, from the member
-- set's join time and the member detail (wire.ts memberDetail:
-- role|joinSource|<inviter bytes>|<inviter><operator>). Fields this read
-- model does not hold (nickname, faceURL, ex, muteEndTime,
-- appMangerLevel) are their zero values. (The sync routes' versionID is made
-- outside Lua: active-generation.ts versionIDOf.)

-- Stored values are strings; print them as JSON integers (0 when absent).
local function int(s)
  local n = tonumber(s)
  if not n then return '0' end
  return string.format('%.0f', n)
end

local function parse_detail(raw)
  local role, source, n, at = string.match(raw, '^(%d+)|(%d+)|(%d+)|()')
  n = tonumber(n)
  return role, source, string.sub(raw, at, at + n - 1), string.sub(raw, at + n)
end

-- gidJson: the group ID, JSON-encoded once by the caller.
local function member_json(gidJson, uid, joinTime, raw)
  local role, source, inviter, operator = '0', '0', '', ''
  if raw then role, source, inviter, operator = parse_detail(raw) end
  return '{"groupID":' .. gidJson
    .. ',"userID":' .. cjson.encode(uid)
    .. ',"roleLevel":' .. int(role)
    .. ',"joinTime":' .. int(joinTime)
    .. ',"nickname":"","faceURL":"","appMangerLevel":0'
    .. ',"joinSource":' .. int(source)
    .. ',"operatorUserID":' .. cjson.encode(operator)
    .. ',"ex":"","muteEndTime":0'
    .. ',"inviterUserID":' .. cjson.encode(inviter)
    .. '}'
end
