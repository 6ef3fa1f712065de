-- Record an authentication attempt of one session (its own slot) and flag the session
-- when the failures within the window reach the threshold.
-- KEYS: 1 failures zset (member -> ms), 2 the session's meta hash.
-- ARGV: 1 success 0|1, 2 now ms, 3 window ms, 4 threshold, 5 flag TTL ms, 6 unique member.
-- Reply: the failures within the window (0 after a success), -1 if no such session.
-- The flag is a meta field holding its expiry (ms): the turn path sees it in the meta it
-- loads anyway, and a field cannot outlive its session.
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
  return 0
end
local now = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[2], 'flagged', now + tonumber(ARGV[5]))
end
return n
