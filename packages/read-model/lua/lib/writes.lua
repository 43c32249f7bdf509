-- Every write of the apply scripts goes through W: in production it is
-- redis.call itself, and done(reply) is the reply. The test harness loads
-- test/crash-after.lua in its place (src/test-helpers.ts), so no test hook
-- ships in these scripts.
local W = redis.call
local function done(reply) return reply end
