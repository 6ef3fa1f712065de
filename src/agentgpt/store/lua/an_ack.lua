-- Acknowledge an alert and forget acknowledgements older than the retention.
-- KEYS: 1 acked zset (id -> ms), 2 ack-by hash (id -> operator).
-- ARGV: 1 alert id, 2 operator, 3 now ms, 4 retention ms.  Reply: 1 if newly acknowledged.
local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[1])
if added == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[4]),
  'LIMIT', 0, 100)
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('HDEL', KEYS[2], unpack(old))
end
return added
