-- Included by the scripts that spend a caller's token bucket (token_bucket.lua, and
-- acquire.lua in the turn's lock round trip): the one definition of the bucket.
-- spend_bucket(key, rate/s, burst) refills the bucket hash (tokens, ts) continuously from the
-- server's clock (every API process agrees), spends one token if there is one, and returns
-- 0, or the milliseconds until a token is due when it is empty.
local function spend_bucket(key, rate, burst)
  local bt = redis.call('TIME')
  local bnow = tonumber(bt[1]) * 1000 + math.floor(tonumber(bt[2]) / 1000)
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1]) or burst
  local ts = tonumber(state[2]) or bnow
  tokens = math.min(burst, tokens + (bnow - ts) * rate / 1000)
  local retry = 0
  if tokens >= 1 then tokens = tokens - 1 else retry = math.ceil((1 - tokens) * 1000 / rate) end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', bnow)
  redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
  return retry
end
