-- Every write of the apply script goes through W: in production it is
-- redis.call itself. The test harness loads test/crash-after.lua in its
-- place (src/test-helpers.ts), so no test hook ships in this script.
local W = redis.call
