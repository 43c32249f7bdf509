-- Reads a chunk's events back as wire.ts wrote them, by walking WIRE_OPS
-- (rendered from wire.ts's WIRE table): no operand position is spelled here.
-- Each event comes back as a table: op (its name in WIRE), the head fields
-- (WIRE_HEAD: groupID, offset, key, seq), and its operands by name.
local function wire_events(A)
  local i, n = 1, #A
  return function()
    if i > n then return nil end
    local spec = WIRE_OPS[A[i]]
    if not spec then error(redis.error_reply('unknown op ' .. tostring(A[i]))) end
    local e = {op = spec.op}
    for f, name in ipairs(WIRE_HEAD) do e[name] = A[i + f] end
    local a = i + 1 + #WIRE_HEAD
    for _, o in ipairs(spec.operands) do
      local kind = o.kind
      if kind == 'string' then
        e[o.name] = A[a]
        a = a + 1
      elseif kind == 'record' then
        local r = {}
        for f, name in ipairs(o.fields) do r[name] = A[a + f - 1] end
        e[o.name] = r
        a = a + #o.fields
      else
        local count = tonumber(A[a])
        local v = {}
        a = a + 1
        if kind == 'strings' then
          for x = 1, count do v[x] = A[a + x - 1] end
          a = a + count
        elseif kind == 'pairs' then
          for x = 1, count do
            v[A[a]] = A[a + 1]
            a = a + 2
          end
        elseif kind == 'members' then
          for x = 1, count do
            local m = {}
            for f, name in ipairs(MEMBER_FIELDS) do m[name] = A[a + f - 1] end
            v[x] = m
            a = a + #MEMBER_FIELDS
          end
        else
          error(redis.error_reply('unknown operand kind ' .. tostring(kind)))
        end
        e[o.name] = v
      end
    end
    i = a
    return e
  end
end
