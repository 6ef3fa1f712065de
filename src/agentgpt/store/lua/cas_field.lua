-- Compare-and-set one metadata field (the background re-wrap of a session's data keys).
-- KEYS: 1 meta.  ARGV: 1 field, 2 expected value, 3 new value.
-- Returns 1 when set, 0 when the field changed or the session was erased meanwhile (an
-- erased session is never recreated; the key's TTL is untouched).
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
