-- A group's card: its GroupInfo JSON, serialized at write time, fields in
-- GROUP_FIELDS order (rendered from contracts' GROUP_INFO_FIELDS).

-- What comes right before a card's count digits.
local COUNT_PREFIX = '"memberCount":'

-- Integers print as they came (%.0f is exact below 2^53; cjson would print 1.7e+12).
local function num(v)
  if v == nil then return '0' end
  if type(v) == 'number' then return string.format('%.0f', v) end
  return v
end

-- card(c, count): the card from c (field -> value; numeric fields as decimal
-- strings, or numbers when c is a decoded card) and the count, plus the byte
-- offset of the count's digits in it (what _n in the info hash records, so a
-- count change is a SETRANGE). Strings go through cjson.encode, so a card
-- re-encoded from a decoded one is byte for byte the card the same fields give.
local function card(c, count)
  local parts, pos = {}, 0
  for i, f in ipairs(GROUP_FIELDS) do
    parts[#parts + 1] = (i == 1 and '{"' or ',"') .. f .. '":'
    if f == 'memberCount' then
      pos = #table.concat(parts)
      parts[#parts + 1] = count
    elseif NUMERIC_FIELDS[f] then
      parts[#parts + 1] = num(c[f])
    else
      parts[#parts + 1] = cjson.encode(c[f] or '')
    end
  end
  parts[#parts + 1] = '}'
  return table.concat(parts), pos
end
