-- Erase a session's mentions from the alert stream: its entries, their acknowledgements
-- and the rule's cool-down marker (all in the {alerts} slot).
-- KEYS: 1 alert stream, 2 acked zset, 3 ackby hash, 4.. cool-down markers naming the session.
-- ARGV: 1 the session id (an entry's subject).  Reply: entries deleted.
-- The stream is capped (alert_stream_maxlen), so the walk is bounded; erasure is rare.
local deleted = 0
local cursor = '-'
while true do
  local rows = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', 500)
  if #rows == 0 then break end
  for _, row in ipairs(rows) do
    local fields = row[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'subject' and fields[i + 1] == ARGV[1] then
        redis.call('XDEL', KEYS[1], row[1])
        redis.call('ZREM', KEYS[2], row[1])
        redis.call('HDEL', KEYS[3], row[1])
        deleted = deleted + 1
      end
    end
  end
  cursor = '(' .. rows[#rows][1]
end
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
return deleted
