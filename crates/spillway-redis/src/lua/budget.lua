-- Spillway's shared budget: spend and reservations of spending caps, counted for replicas.
-- The gateway's core decides (allow, degrade, refuse); this script only counts, atomically.
--
-- KEYS: n spend keys (one per account and calendar period), n reservation keys (one per
--       account, no period: an estimate in flight across a reset still counts), the record of
--       this request (what it holds; whether it finished).
-- ARGV: op ('r' reserve, 's' settle, 'c' release), n, amount (nano-USD: the estimate to
--       hold, or the actual cost to book), lease_ms (life of reservations and of a holding
--       request's record), done_ms (life of a finished request's record: the retry window),
--       then per account: limit, expire_at_ms (when its spend key may go: period end + grace).
--
-- Reply (integers): {status, held, spent_1, reserved_1, ..., spent_n, reserved_n} for a
-- reserve (status 1: holds `amount`; 0: does not fit, the previous hold stays; 2: already
-- finished, holds nothing; the totals exclude this request's hold), {status, released} for a
-- settle or release (status 2: already finished, nothing done).
--
-- Amounts stay below 2^53 (the caller clamps), so doubles hold them exactly; they are written
-- with %d, never through tostring (14 digits).
local op, n, amount, lease, done_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local rec = KEYS[2 * n + 1]
local state = redis.call('HMGET', rec, 'h', 'd')
local held = tonumber(state[1] or '0') or 0
local done = state[2]

local function int(x)
  return string.format('%d', x)
end
local function num(key)
  local v = redis.call('GET', key)
  if v then
    return tonumber(v)
  end
  return 0
end

if op == 'r' then
  local out = { 0, 0 }
  if done then
    held = 0
  end
  local fits = not done
  for i = 1, n do
    local spent = num(KEYS[i])
    local reserved = num(KEYS[n + i]) - held
    if reserved < 0 then
      reserved = 0
    end
    out[#out + 1] = spent
    out[#out + 1] = reserved
    if spent + reserved + amount > tonumber(ARGV[4 + 2 * i]) then
      fits = false
    end
  end
  if fits and amount ~= held then
    for i = 1, n do
      redis.call('INCRBY', KEYS[n + i], int(amount - held))
      redis.call('PEXPIRE', KEYS[n + i], lease)
    end
    redis.call('HSET', rec, 'h', int(amount))
    redis.call('PEXPIRE', rec, lease)
    held = amount
  end
  if done then
    out[1] = 2
  elseif fits then
    out[1] = 1
  end
  out[2] = held
  return out
end

if done then
  return { 2, 0 }
end
for i = 1, n do
  if held > 0 then
    local release = math.min(held, num(KEYS[n + i]))
    if release > 0 then
      redis.call('DECRBY', KEYS[n + i], int(release))
    end
  end
  if op == 's' and amount > 0 then
    redis.call('INCRBY', KEYS[i], int(amount))
    redis.call('PEXPIREAT', KEYS[i], ARGV[5 + 2 * i])
  end
end
-- Marked finished (for the retry window) so that a retried settle books nothing twice and a
-- reserve landing after its release holds nothing.
redis.call('HSET', rec, 'h', '0', 'd', '1')
redis.call('PEXPIRE', rec, done_ms)
return { 1, held }
