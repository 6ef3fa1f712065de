-- Set metadata fields of a live session, under its turn lock (issue 17: the end-to-end
-- policy and the ratchet state written by the handshake).
-- KEYS: 1 meta.  ARGV: 1 fence ('' for no lock: the policy only), then field, value pairs.
-- Returns 1 when set, 0 when the session is gone (never recreated), -1 on a stale fence.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= tonumber(redis.call('HGET', KEYS[1], 'fence_issued') or '0') then
  return -1
end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
