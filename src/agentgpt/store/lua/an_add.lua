-- Add one writer's tally to the minute, hour and day buckets of its shard (one slot).
-- KEYS: 1 minute bucket, 2 hour bucket, 3 day bucket.
-- ARGV: 1 minute TTL ms, 2 hour/day TTL ms, then field, increment pairs (integers).
-- Writing all three resolutions at once is the roll-up: an hour always equals the sum of
-- its minutes, with no roll-up job to fall behind or run twice.
for i = 3, #ARGV, 2 do
  local f, n = ARGV[i], tonumber(ARGV[i + 1])
  redis.call('HINCRBY', KEYS[1], f, n)
  redis.call('HINCRBY', KEYS[2], f, n)
  redis.call('HINCRBY', KEYS[3], f, n)
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 1
