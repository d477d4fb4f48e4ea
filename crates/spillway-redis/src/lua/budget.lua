-- Spillway's shared budget: spend and reservations of spending caps, counted for replicas.
-- The gateway's core decides (allow, degrade, refuse); this script only counts, atomically.
--
-- KEYS: n spend keys (one per account and calendar period), n held-total keys (one per
--       account, no period: an estimate in flight across a reset still counts), n lease keys
--       (a sorted set per account: one member `<amount>:<request id>` per hold, scored by the
--       hold's deadline), the record of this request (what it holds; whether it finished).
-- ARGV: op ('r' reserve, 's' settle, 'c' release), n, amount (nano-USD: the estimate to
--       hold, or the actual cost to book), lease_ms (life of a holding request's record and
--       of the account keys), done_ms (life of a finished request's record: the retry window),
--       now_ms (the caller's now), deadline_ms (when a hold made now lapses), request id,
--       then per account: limit, expire_at_ms (when its spend key may go: period end + grace),
--       grace_ms (a spend key booked into lives at least this long after Redis' now: a
--       replica whose clock lags Redis' past the period's end must not delete its booking).
--
-- Reply (integers): {status, held, spent_1, reserved_1, ..., spent_n, reserved_n} for a
-- reserve (status 1: holds `amount`; 0: does not fit, the previous hold stays; 2: already
-- finished, holds nothing; the totals exclude this request's hold), {status, released} for a
-- settle or release (status 2: already finished, nothing done).
--
-- Holds lapse on their own: every call first drops the expired holds of the accounts it
-- touches (at most MAX_PURGE per account, so a call's work stays bounded; a backlog drains
-- MAX_PURGE per call, faster than one call can leak one), so a leaked hold (a reply lost, a
-- replica killed, a call outliving its record) stops counting at its deadline even on an
-- account that is never idle.
--
-- Amounts stay below 2^53 (the caller clamps), so doubles hold them exactly; they are written
-- with %d, never through tostring (14 digits).
local MAX_PURGE = 8
local op, n, amount, lease, done_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local now_ms, deadline, rid = ARGV[6], ARGV[7], ARGV[8]
local ARG0 = 8
local rec = KEYS[3 * n + 1]
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
local function member(amt)
  return int(amt) .. ':' .. rid
end
local mine = member(held)

-- Drop hold `m` from account i; whether it was there.
local function drop(i, m)
  if redis.call('ZREM', KEYS[2 * n + i], m) == 0 then
    return false
  end
  local release = math.min(tonumber(string.match(m, '^(%d+):')) or 0, num(KEYS[n + i]))
  if release > 0 then
    redis.call('DECRBY', KEYS[n + i], int(release))
  end
  return true
end

-- Drop account i's holds whose deadline has passed (the oldest MAX_PURGE).
local function purge(i)
  local old = redis.call('ZRANGEBYSCORE', KEYS[2 * n + i], '-inf', now_ms, 'LIMIT', 0, MAX_PURGE)
  for _, m in ipairs(old) do
    drop(i, m)
  end
end

-- Keep account i's hold keys for a lease after its latest hold (never shortened: replicas
-- may run different leases).
local function refresh(i)
  if redis.call('PTTL', KEYS[n + i]) < tonumber(lease) then
    redis.call('PEXPIRE', KEYS[n + i], lease)
    redis.call('PEXPIRE', KEYS[2 * n + i], lease)
  end
end

for i = 1, n do
  purge(i)
end

if op == 'r' then
  local out = { 0, 0 }
  if done then
    held = 0
  end
  -- This request's hold counts only while it is live on every account; a lapsed one is gone
  -- everywhere.
  if held > 0 then
    local live = true
    for i = 1, n do
      local score = redis.call('ZSCORE', KEYS[2 * n + i], mine)
      if not score or tonumber(score) <= tonumber(now_ms) then
        live = false
      end
    end
    if not live then
      for i = 1, n do
        drop(i, mine)
      end
      held = 0
    end
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
    if spent + reserved + amount > tonumber(ARGV[ARG0 - 2 + 3 * i]) then
      fits = false
    end
  end
  -- Asking again replaces the hold (and renews its deadline), never adds to it.
  if fits and (amount > 0 or held > 0) then
    for i = 1, n do
      if held > 0 then
        drop(i, mine)
      end
      if amount > 0 then
        redis.call('ZADD', KEYS[2 * n + i], deadline, member(amount))
        redis.call('INCRBY', KEYS[n + i], int(amount))
      end
      refresh(i)
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
local released = 0
local books = op == 's' and amount > 0
local redis_ms = 0
if books then
  -- Redis' clock is read only when spend is booked: a release or a zero settle has no use for it.
  local time = redis.call('TIME')
  redis_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
for i = 1, n do
  if held > 0 and drop(i, mine) then
    released = held
  end
  if books then
    redis.call('INCRBY', KEYS[i], int(amount))
    local at = math.max(tonumber(ARGV[ARG0 - 1 + 3 * i]), redis_ms + tonumber(ARGV[ARG0 + 3 * i]))
    -- Never shortened: a replica with a larger expiry grace may have set a later expiry. GT
    -- alone would set none on a new key (GT takes no expiry for never), hence NX first.
    if redis.call('PEXPIREAT', KEYS[i], int(at), 'NX') == 0 then
      redis.call('PEXPIREAT', KEYS[i], int(at), 'GT')
    end
  end
end
-- Marked finished (for the retry window) so that a retried settle books nothing twice and a
-- reserve landing after its release holds nothing.
redis.call('HSET', rec, 'h', '0', 'd', '1')
redis.call('PEXPIRE', rec, done_ms)
return { 1, released }
