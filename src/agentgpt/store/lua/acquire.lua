-- Take a FIFO, fenced lock; optionally load the session in the same round trip.
-- KEYS: 1 lock, 2 queue (zset ticket -> arrival us), 3 heartbeats (hash ticket -> deadline ms),
--       4 fence hash (the session's meta, or the resource's fence hash), 5 ctx (for load)
-- ARGV: 1 ticket, 2 lease ms, 3 waiter ttl ms, 4 is_session (0/1), 5 load (0/1),
--       6 fence-hash ttl ms (resources that are not sessions)
-- Optional, standalone stores only (another slot): KEYS 6 the caller's token bucket, spent
-- first (include/bucket.lua, as token_bucket.lua spends it), ARGV 7 rate/s, 8 burst.
-- Returns {1, fence[, meta pairs, ctx]} when granted, {0, position} to wait, {-1} no session,
-- {-2, retry_after_ms} when the caller's bucket is empty (nothing else is touched).
-- @include bucket
if KEYS[6] then
  local retry = spend_bucket(KEYS[6], tonumber(ARGV[7]), tonumber(ARGV[8]))
  if retry > 0 then return {-2, retry} end
end
local is_session = ARGV[4] == '1'
if is_session and redis.call('EXISTS', KEYS[4]) == 0 then return {-1} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ticket = ARGV[1]
local wait_ttl = tonumber(ARGV[3])

local function wait()
  redis.call('ZADD', KEYS[2], 'NX', tonumber(t[1]) * 1000000 + tonumber(t[2]), ticket)
  redis.call('HSET', KEYS[3], ticket, now + wait_ttl)
  redis.call('PEXPIRE', KEYS[2], 2 * wait_ttl)
  redis.call('PEXPIRE', KEYS[3], 2 * wait_ttl)
  return {0, redis.call('ZRANK', KEYS[2], ticket)}
end

local holder = redis.call('GET', KEYS[1])
if holder then
  -- The client retries a command whose reply was lost: if that first attempt was granted,
  -- grant the same lock again instead of queueing behind ourselves until the lease ends.
  local mine = ticket .. ':'
  if string.sub(holder, 1, #mine) ~= mine then return wait() end
  local fence = tonumber(string.sub(holder, #mine + 1))
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  if ARGV[5] == '1' then
    return {1, fence, redis.call('HGETALL', KEYS[4]), redis.call('GET', KEYS[5])}
  end
  return {1, fence}
end
-- The lock is free: it goes to the oldest waiter still alive (dead tickets are dropped).
for _ = 1, 32 do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not head or head == ticket then break end
  local deadline = tonumber(redis.call('HGET', KEYS[3], head) or '0')
  if deadline >= now then return wait() end
  redis.call('ZREM', KEYS[2], head)
  redis.call('HDEL', KEYS[3], head)
end
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if head and head ~= ticket then return wait() end
redis.call('ZREM', KEYS[2], ticket)
redis.call('HDEL', KEYS[3], ticket)
local fence = redis.call('HINCRBY', KEYS[4], 'fence_issued', 1)
if not is_session then redis.call('PEXPIRE', KEYS[4], ARGV[6]) end
redis.call('SET', KEYS[1], ticket .. ':' .. fence, 'PX', ARGV[2])
if ARGV[5] == '1' then
  return {1, fence, redis.call('HGETALL', KEYS[4]), redis.call('GET', KEYS[5])}
end
return {1, fence}
