-- Record an authentication attempt of one session (its own slot) and flag the session
-- when the failures within the window reach the threshold.
-- KEYS: 1 failures zset (member -> ms), 2 flag.
-- ARGV: 1 success 0|1, 2 now ms, 3 window ms, 4 threshold, 5 flag TTL ms, 6 unique member.
-- Reply: the failures within the window (0 after a success).
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
  redis.call('SET', KEYS[2], now, 'PX', ARGV[5])
end
return n
