-- Renew a lock's lease if this holder still owns it.
-- KEYS: 1 lock.  ARGV: 1 holder value, 2 lease ms.  Returns 1 renewed, 0 not held.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
