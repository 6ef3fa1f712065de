-- Release a lock if (and only if) this holder still owns it.
-- KEYS: 1 lock.  ARGV: 1 holder value (ticket:fence).  Returns 1 released, 0 not held.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
