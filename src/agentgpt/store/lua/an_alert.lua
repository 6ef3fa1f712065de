-- Raise an alert once per cool-down across every process: the marker and the stream entry
-- are written together or not at all.
-- KEYS: 1 cool-down marker, 2 alert stream.  ARGV: 1 cool-down ms, 2 stream MAXLEN,
-- then field, value pairs of the entry.  Reply: the entry id, or false when de-duplicated.
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return false
end
local entry = {}
for i = 3, #ARGV do entry[#entry + 1] = ARGV[i] end
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(entry))
