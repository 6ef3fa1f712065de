-- Commit one turn atomically: context, log entry, optional sensitive record, TTLs, release.
-- KEYS: 1 meta, 2 ctx, 3 log, 4 lock, 5 vault key of this turn, 6 idempotency hash
-- ARGV: 1 fence ('' when no lock is held: compare-and-set on the version only),
--       2 expected version, 3 ctx blob, 4 log entry, 5 log head hash, 6 now ms,
--       7 retention ms, 8 sliding (0/1), 9 vault blob ('' for none), 10 sensitive ttl ms,
--       11 release (0/1), 12 lock holder value, 13 idempotency key digest ('' for none),
--       14 how long the idempotency hash is kept (ms), 15 sealed end-to-end ratchet state
--       ('' for none: issue 17; written with the turn, so a failed turn leaves it unchanged)
-- Returns the new version, or -1 stale fence, -2 no session, -3 closed, -4 version conflict.
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local m = redis.call('HMGET', KEYS[1], 'version', 'fence_issued', 'closed')
if m[3] == '1' then return -3 end
-- Fencing: only the holder of the newest token issued may write (a holder whose lease
-- expired and was overtaken carries an older token).
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= tonumber(m[2] or '0') then return -1 end
if tonumber(m[1] or '0') ~= tonumber(ARGV[2]) then
  -- A retried commit whose first attempt was applied (its reply was lost) finds its own
  -- turn on top: report the same success rather than a conflict.
  if tonumber(m[1] or '0') == tonumber(ARGV[2]) + 1
      and redis.call('HGET', KEYS[1], 'head') == ARGV[5] then
    -- Rewrite the head (same value): a write on this connection that a durability WAIT
    -- after this script waits for (the first attempt's writes were on another one).
    redis.call('HSET', KEYS[1], 'head', ARGV[5])
    if ARGV[11] == '1' and redis.call('GET', KEYS[4]) == ARGV[12] then
      redis.call('DEL', KEYS[4])
    end
    return tonumber(m[1])
  end
  return -4
end
local version = tonumber(ARGV[2]) + 1
redis.call('HSET', KEYS[1], 'version', version, 'head', ARGV[5], 'last_active', ARGV[6],
  'fence', ARGV[1])
if ARGV[15] ~= '' then redis.call('HSET', KEYS[1], 'e2e', ARGV[15]) end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[4])
if ARGV[8] == '1' then
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
else
  local pttl = redis.call('PTTL', KEYS[1])
  redis.call('PEXPIRE', KEYS[2], pttl)
  redis.call('PEXPIRE', KEYS[3], pttl)
end
if ARGV[9] ~= '' then
  -- Sensitive data never outlives its session.
  local ttl = math.min(tonumber(ARGV[10]), redis.call('PTTL', KEYS[1]))
  redis.call('SET', KEYS[5], ARGV[9], 'PX', ttl)
end
if ARGV[13] ~= '' then
  -- The key names this turn's log entry: a retry finds it and replays, writing nothing.
  redis.call('HSET', KEYS[6], ARGV[13], version)
  redis.call('PEXPIRE', KEYS[6], ARGV[14])
end
if ARGV[11] == '1' and redis.call('GET', KEYS[4]) == ARGV[12] then redis.call('DEL', KEYS[4]) end
return version
