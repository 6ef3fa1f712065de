-- Sum groups of bucket hashes of one shard server-side, so a 7-day read returns a few
-- small replies instead of hundreds of hashes.
-- KEYS: the buckets, group after group.  ARGV: the number of keys in each group.
-- Reply: one flat field, value list per group (all values are integers).
local out, k = {}, 1
for g = 1, #ARGV do
  local acc, order = {}, {}
  for _ = 1, tonumber(ARGV[g]) do
    local flat = redis.call('HGETALL', KEYS[k])
    k = k + 1
    for i = 1, #flat, 2 do
      local f, v = flat[i], tonumber(flat[i + 1])
      if acc[f] == nil then
        acc[f] = v
        order[#order + 1] = f
      else
        acc[f] = acc[f] + v
      end
    end
  end
  local res = {}
  for _, f in ipairs(order) do
    res[#res + 1] = f
    res[#res + 1] = acc[f]
  end
  out[g] = res
end
return out
