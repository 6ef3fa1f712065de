-- Admit a new session against the global and the per-user limit, atomically.
-- KEYS: 1 live sessions zset (id -> last activity ms), 2 this owner's live sessions zset;
-- both in the {adm} slot, so this is one single-slot script even on a cluster.
-- ARGV: 1 session id, 2 now ms, 3 idle timeout ms, 4 global limit, 5 per-user limit,
-- 6 per-user set TTL ms.
-- Entries idle past the timeout are released first. Reply {1, live} admitted,
-- {0, live} global limit reached, {-1, mine} per-user limit reached.
local now = tonumber(ARGV[2])
local stale = '(' .. (now - tonumber(ARGV[3]))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', stale)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', stale)
local live = redis.call('ZCARD', KEYS[1])
if live >= tonumber(ARGV[4]) then return {0, live} end
local mine = redis.call('ZCARD', KEYS[2])
if mine >= tonumber(ARGV[5]) then return {-1, mine} end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {1, live + 1}
