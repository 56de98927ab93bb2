-- One sync of one replica's breaker, atomic in Redis (see circuit.Store for
-- the rules and store.go for the arguments' Go side).
--
-- KEYS: 1 counts   hash "<epoch>:<s|f|w|x>" -> count (successes, failures, slow, excluded)
--       2 replicas hash replica -> last sync, ms
--       3 open     hash replica -> end of its own open period, ms
--       4 trip     hash round, until (ms), reason, holder, lease (ms): the
--                  cluster-wide trip in force and its probe lease
-- ARGV: 1 now (ms)  2 current epoch  3 buckets  4 window (ms)  5 ttl (ms)
--       6 replica  7 open until (ms, 0: not open on its own evidence)
--       8 trip round to publish ("" none)  9 its until (ms)  10 its reason
--       11 closed round ("" none)  12 probes  13 probe round  14 lease (ms)
--       15.. five per bucket: epoch, successes, failures, slow, excluded
-- Reply: replicas, open replicas, trip round ("" none), trip until (ms), trip
--        reason, probes granted, then five per non-empty bucket of the window.
--
-- Everything is read and checked before anything is written, so a malformed
-- value fails the sync without a partial write. Times in ms and epochs stay
-- below 2^53: exact in Lua's numbers. Rounds are compared as strings.

local function fail(msg)
  error({err = 'circuit: malformed state: ' .. msg})
end

local function int(v, what)
  if type(v) ~= 'string' or not string.match(v, '^%-?%d+$') then
    fail(what .. ' is ' .. tostring(v) .. ', not an integer')
  end
  return tonumber(v)
end

local now = tonumber(ARGV[1])
local cur = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local replica = ARGV[6]
local openUntil = tonumber(ARGV[7])
local tripRound, tripUntil, tripReason = ARGV[8], ARGV[9], ARGV[10]
local closedRound = ARGV[11]
local probes = tonumber(ARGV[12])
local probeRound = ARGV[13]
local lease = tonumber(ARGV[14])
local kinds = {'s', 'f', 'w', 'x'}

-- The window's sums, read in slices (a Lua call takes a few thousand
-- arguments at most).
local lo = cur - n + 1
local sums = {}
local fields = {}
local function flush()
  if #fields == 0 then return end
  local vals = redis.call('HMGET', KEYS[1], unpack(fields))
  for i, v in ipairs(vals) do
    if v then sums[fields[i]] = int(v, 'count ' .. fields[i]) end
  end
  fields = {}
end
for e = lo, cur do
  for _, k in ipairs(kinds) do
    fields[#fields + 1] = string.format('%d', e) .. ':' .. k
  end
  if #fields >= 4000 then flush() end
end
flush()

-- The replicas that synced within the window, and those open on their own
-- evidence.
local replicas, open = 1, 0
if openUntil > now then open = 1 end
local live, stale, closed = {}, {}, {}
local seen = redis.call('HGETALL', KEYS[2])
for i = 1, #seen, 2 do
  local t = int(seen[i + 1], 'last sync of ' .. seen[i])
  if seen[i] ~= replica then
    if now - t < window then
      live[seen[i]] = true
      replicas = replicas + 1
    elseif now - t > ttl then
      stale[#stale + 1] = seen[i]
    end
  end
end
local opens = redis.call('HGETALL', KEYS[3])
for i = 1, #opens, 2 do
  local u = int(opens[i + 1], 'open period of ' .. opens[i])
  if opens[i] ~= replica then
    if u <= now then
      closed[#closed + 1] = opens[i]
    elseif live[opens[i]] then
      open = open + 1
    end
  end
end

-- The trip in force.
local st = redis.call('HMGET', KEYS[4], 'round', 'until', 'reason', 'holder', 'lease')
local round, untilMs, reason, holder, leaseUntil = st[1], nil, st[3] or '', st[4], 0
if round then untilMs = int(st[2], 'trip until') end
if holder then leaseUntil = int(st[5], 'probe lease') end

-- Writes.
for i = 15, #ARGV, 5 do
  for k = 1, 4 do
    local d = ARGV[i + k]
    if d ~= '0' then
      local f = ARGV[i] .. ':' .. kinds[k]
      sums[f] = redis.call('HINCRBY', KEYS[1], f, d)
    end
  end
end
redis.call('HSET', KEYS[2], replica, ARGV[1])
if #stale > 0 then redis.call('HDEL', KEYS[2], unpack(stale)) end
if openUntil > 0 then
  redis.call('HSET', KEYS[3], replica, ARGV[7])
else
  closed[#closed + 1] = replica
end
if #closed > 0 then redis.call('HDEL', KEYS[3], unpack(closed)) end

if tripRound ~= '' and (not round or untilMs <= now) then
  round, untilMs, reason, holder = tripRound, tonumber(tripUntil), tripReason, false
  redis.call('HSET', KEYS[4], 'round', round, 'until', tripUntil, 'reason', reason)
  redis.call('HDEL', KEYS[4], 'holder', 'lease')
end
if round and closedRound == round then
  redis.call('DEL', KEYS[4])
  round = false
end
local granted = 0
if round and probeRound == round then
  if probes > 0 then
    if not holder or holder == replica or leaseUntil <= now then
      redis.call('HSET', KEYS[4], 'holder', replica, 'lease', string.format('%d', now + lease))
      granted = probes
    end
  elseif holder == replica then
    redis.call('HDEL', KEYS[4], 'holder', 'lease')
  end
end

-- Old buckets leave the hash once it holds more than the window.
if redis.call('HLEN', KEYS[1]) > 4 * (n + 1) then
  local old = {}
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    local e = tonumber(string.match(f, '^(%-?%d+):'))
    if not e or e < lo then old[#old + 1] = f end
    if #old >= 4000 then
      redis.call('HDEL', KEYS[1], unpack(old))
      old = {}
    end
  end
  if #old > 0 then redis.call('HDEL', KEYS[1], unpack(old)) end
end

for _, k in ipairs(KEYS) do
  redis.call('PEXPIRE', k, ttl)
end

local reply = {replicas, open, round or '', untilMs or 0, reason, granted}
for e = lo, cur do
  local p = string.format('%d', e)
  local b = {sums[p .. ':s'] or 0, sums[p .. ':f'] or 0, sums[p .. ':w'] or 0, sums[p .. ':x'] or 0}
  if b[1] + b[2] + b[3] + b[4] ~= 0 then
    reply[#reply + 1] = e
    for _, v in ipairs(b) do reply[#reply + 1] = v end
  end
end
return reply
