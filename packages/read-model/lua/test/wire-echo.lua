-- Test harness only (wire.int.spec.ts): reads the wire in ARGV[1] with
-- lib/wire.lua and returns every event as decoded, JSON-encoded, so the
-- test can compare it with what wire.ts encoded.
local events = {}
for e in wire_events(cjson.decode(ARGV[1])) do events[#events + 1] = e end
return cjson.encode(events)
