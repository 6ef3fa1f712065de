-- Create a session's metadata unless it exists.
-- KEYS: 1 meta.  ARGV: 1 ttl ms, then field/value pairs.  Returns 1 created, 0 exists.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
