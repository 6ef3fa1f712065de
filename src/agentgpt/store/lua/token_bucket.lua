-- A token bucket per subject, refilled continuously at ARGV[1] tokens/s up to ARGV[2].
-- KEYS[1] bucket hash (tokens, ts). The bucket itself: include/bucket.lua.
-- Returns {allowed (0/1), retry_after_ms}.
-- @include bucket
local retry = spend_bucket(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if retry > 0 then return {0, retry} end
return {1, 0}
