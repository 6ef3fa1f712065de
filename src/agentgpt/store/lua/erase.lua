-- Erase a session: the metadata (holding the wrapped data key) first, then everything else.
-- KEYS: 1 meta, 2 ctx, 3 log, 4 lock, 5 queue, 6 heartbeats, 7 idempotency keys,
--       8 auth failures.
-- ARGV: 1 vault key prefix.
-- Vault keys are addressed by turn number: they share the session's slot, so this stays
-- a single-slot script without an index key to keep in step.
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local n = redis.call('DEL', KEYS[1])
n = n + redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
for seq = 1, version do n = n + redis.call('DEL', ARGV[1] .. seq) end
return n
