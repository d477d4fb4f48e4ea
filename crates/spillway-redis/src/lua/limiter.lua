-- Spillway: every limiter of a request, checked then committed in one atomic script.
--
-- Exactness. Lua numbers are doubles: integers are exact only below 2^53. So
--  * an instant is a pair (s, ns): whole seconds and nanoseconds 0..1e9-1 (s < 2^35 for any u64);
--  * a GCRA theoretical arrival time is a triple (s, ns, frac): ns + frac/rate, frac < rate;
--  * windows are < 2^51 ns and counts < 2^53 (checked in Rust before the call);
--  * the one product the counter compares, prev*(W-e) <= room*W, is done on base-2^18 limbs;
--  * the one division a denial needs (GCRA, counter) is done in Rust on u128 from the snapshot
--    returned here, with the same formula as spillway-core.
--
-- ARGV: op ('acquire'|'check'|'apply'), time ('c' = ARGV now_s now_ns | 'r' = TIME),
--       now_s, now_ns, grace_ms, prune_first (1 = single-limiter acquire: a log prunes even
--       when it denies, like SlidingWindowLog::acquire), n_layers, rid ('' = none), rid_ttl_ms,
--       then per layer a kind, an
--       action for op 'apply' ('+' commit, '-' refund; '?' otherwise) and the parameters:
--       'g' rate ct_s ct_ns ct_r sl_s sl_ns sl_r     (GCRA: cost*T and (capacity-cost)*T)
--       'l' limit window cost                        (sliding log; uses 2 KEYS: zset, total)
--       'c' limit window cost                        (sliding counter)
-- Request ids (no phantom charges): an acquire with a rid records it (KEYS[1]..'|rid|'..rid, same
-- hash tag) with SET NX when it admits, and charges only if the record is new: a retry is never
-- charged twice. op 'cancel' (the client lost the acquire's reply and answered by its failure
-- policy) marks the rid cancelled and refunds every layer if the acquire had been charged; an
-- acquire arriving after its cancel finds the mark and charges nothing.
-- Reply: {1, now_s, now_ns} allowed / done ('cancel': {1, now_s, now_ns, refunded 0|1}), or {0, now_s, now_ns, idx, ..snapshot.., idx, ...}
-- where idx is the layer's position in this call and the snapshot is per kind:
--   'g' tat_s tat_ns tat_frac      'l' retry_s retry_ns      'c' start_s start_ns elapsed prev cur

local E9 = 1000000000
local FAR = 4503599627370496 -- 2^52: "further away than any window"
local MAXC = 9007199254740991 -- 2^53 - 1: counts saturate here (core saturates at u64::MAX)
local B = 262144 -- 2^18 limb base

local function norm(s, ns)
  local q = math.floor(ns / E9)
  local r = ns - q * E9
  if r < 0 then q = q - 1; r = r + E9 elseif r >= E9 then q = q + 1; r = r - E9 end
  return s + q, r
end

local function cmp(as, ans, bs, bns)
  if as ~= bs then return as < bs and -1 or 1 end
  if ans ~= bns then return ans < bns and -1 or 1 end
  return 0
end

-- a - b in ns, clamped to +-FAR.
local function diff(as, ans, bs, bns)
  local ds = as - bs
  if ds > 4000000 then return FAR elseif ds < -4000000 then return -FAR end
  return ds * E9 + (ans - bns)
end

local function ttl_ms(ns, grace)
  return math.floor((ns + 999999) / 1000000) + grace
end

local function sat_add(a, b)
  local v = a + b
  if v > MAXC then return MAXC end
  return v
end

---------------------------------------------------------------- GCRA
-- Built only when a layer of this kind is in the call: a script's top level runs on every
-- call, and creating closures for algorithms not used is most of a small call's cost.
local function g_module()
  local G = {}

  function G.load(key)
    local v = redis.call('GET', key)
    if not v then return { 0, 0, 0 } end
    local s, ns, f = string.match(v, '^(%d+) (%d+) (%d+)$')
    return { tonumber(s), tonumber(ns), tonumber(f) }
  end

  function G.le_now(t, now)
    local c = cmp(t[1], t[2], now[1], now[2])
    return c < 0 or (c == 0 and t[3] == 0)
  end

  function G.allows(L, now)
    local t = G.load(L.keys[1])
    L.state = t
    local ls, lns = norm(now[1] + L.sl_s, now[2] + L.sl_ns)
    local c = cmp(t[1], t[2], ls, lns)
    if c < 0 or (c == 0 and t[3] <= L.sl_r) then return true end
    return false, { t[1], t[2], t[3] }
  end

  -- Kept even when full at now (a refund can bring the TAT back to now): dropping it would forget
  -- the TAT for a caller whose next `now` is earlier. The grace bounds how long that matters.
  function G.store(L, t, now, grace)
    local ahead = diff(t[1], t[2], now[1], now[2])
    if ahead < 0 then ahead = 0 elseif t[3] > 0 then ahead = ahead + 1 end
    redis.call('SET', L.keys[1], string.format('%d %d %d', t[1], t[2], t[3]),
      'PX', math.max(ttl_ms(ahead, grace), 1))
  end

  function G.commit(L, now, grace)
    local t = L.state or G.load(L.keys[1])
    if G.le_now(t, now) then t = { now[1], now[2], 0 } end
    local f, carry = t[3] + L.ct_r, 0
    if f >= L.rate then f = f - L.rate; carry = 1 end
    local s, ns = norm(t[1] + L.ct_s, t[2] + L.ct_ns + carry)
    G.store(L, { s, ns, f }, now, grace)
  end

  function G.refund(L, now, grace)
    local t = G.load(L.keys[1])
    if G.le_now(t, now) then return end
    local f, borrow = t[3] - L.ct_r, 0
    if f < 0 then f = f + L.rate; borrow = 1 end
    local s, ns = norm(t[1] - L.ct_s, t[2] - L.ct_ns - borrow)
    local back = { s, ns, f }
    if s < 0 or G.le_now(back, now) then back = { now[1], now[2], 0 } end
    G.store(L, back, now, grace)
  end
  return G
end

---------------------------------------------------------------- sliding log
-- Built only when a layer of this kind is in the call: a script's top level runs on every
-- call, and creating closures for algorithms not used is most of a small call's cost.
local function sl_module()
  local SL = {}

  local function member(s, ns, cost) return string.format('%011d%09d%d', s, ns, cost) end
  local function parse(m)
    return tonumber(string.sub(m, 1, 11)), tonumber(string.sub(m, 12, 20)), tonumber(string.sub(m, 21))
  end

  -- The lex bound below which entries have expired at now (at <= now - W), or nil.
  function SL.cutoff(L, now)
    local s, ns = norm(now[1], now[2] - L.window + 1)
    if s < 0 then return nil end
    return '(' .. string.format('%011d%09d', s, ns)
  end

  function SL.total(L) return tonumber(redis.call('GET', L.keys[2]) or '0') end

  function SL.expired_sum(L, now)
    local cut = SL.cutoff(L, now)
    if not cut then return 0, nil end
    local sum = 0
    for _, m in ipairs(redis.call('ZRANGEBYLEX', L.keys[1], '-', cut)) do
      local _, _, c = parse(m); sum = sum + c
    end
    return sum, cut
  end

  -- Drop expired entries; the live total, the cut and how much was dropped. Reuses what
  -- `allows` (or a first prune) read in this call, if anything.
  function SL.prune(L, now)
    local seen = L.state
    L.state = nil
    local sum, cut, total
    if seen then
      sum, cut, total = seen[1], seen[2], seen[3]
    else
      sum, cut = SL.expired_sum(L, now)
      total = SL.total(L)
    end
    if sum > 0 then redis.call('ZREMRANGEBYLEX', L.keys[1], '-', cut) end
    return total - sum, cut, sum
  end

  -- A single-limiter acquire prunes first. It leaves what it read for `allows` and `commit`
  -- (nothing expired is left at now), and rewrites total and expiries only when it dropped
  -- entries: 5 of the 13 Redis calls of an admitting acquire were these re-reads and rewrites.
  function SL.prune_first(L, now, grace)
    local total, cut, sum = SL.prune(L, now)
    if sum > 0 then SL.store(L, total, now, grace) end
    L.state = { 0, cut, total }
  end

  function SL.allows(L, now)
    local sum, cut, total
    if L.state then
      sum, cut, total = L.state[1], L.state[2], L.state[3]
    else
      sum, cut = SL.expired_sum(L, now)
      total = SL.total(L)
      L.state = { sum, cut, total }
    end
    local used = total - sum
    if used + L.cost <= L.limit then return true end
    local from = cut and ('[' .. string.sub(cut, 2)) or '-'
    for _, m in ipairs(redis.call('ZRANGEBYLEX', L.keys[1], from, '+')) do
      local s, ns, c = parse(m)
      used = used - c
      if used + L.cost <= L.limit then
        local rs, rns = norm(s, ns + L.window)
        return false, { rs, rns }
      end
    end
    return false, { 18446744073, 709551615 } -- unreachable: retry_at = Time::MAX
  end

  -- Write the total and both expiries; (s, ns) is the newest entry's instant when known.
  function SL.store(L, total, now, grace, s, ns)
    if not s and total > 0 then
      local last = redis.call('ZRANGE', L.keys[1], -1, -1)[1]
      if last then s, ns = parse(last) end
    end
    if total <= 0 or not s then
      redis.call('DEL', L.keys[1], L.keys[2]); return
    end
    local ms = ttl_ms(diff(s, ns, now[1], now[2]) + L.window, grace)
    redis.call('SET', L.keys[2], string.format('%d', total), 'PX', ms)
    redis.call('PEXPIRE', L.keys[1], ms)
  end

  function SL.commit(L, now, grace)
    if L.cost == 0 then return end
    local total = SL.prune(L, now)
    local len = redis.call('ZCARD', L.keys[1])
    local last = redis.call('ZRANGE', L.keys[1], -1, -1)[1]
    if last then
      local s, ns, c = parse(last)
      if cmp(s, ns, now[1], now[2]) >= 0 or len >= L.limit then
        if cmp(s, ns, now[1], now[2]) < 0 then s, ns = now[1], now[2] end
        local merged = sat_add(c, L.cost)
        redis.call('ZREM', L.keys[1], last)
        redis.call('ZADD', L.keys[1], 0, member(s, ns, merged))
        SL.store(L, sat_add(total, merged - c), now, grace, s, ns)
        return
      end
    end
    redis.call('ZADD', L.keys[1], 0, member(now[1], now[2], L.cost))
    SL.store(L, sat_add(total, L.cost), now, grace, now[1], now[2])
  end

  function SL.refund(L, now, grace)
    local total, cost = SL.prune(L, now), L.cost
    while cost > 0 do
      local last = redis.call('ZRANGE', L.keys[1], -1, -1)[1]
      if not last then break end
      local s, ns, c = parse(last)
      local take = math.min(cost, c)
      cost = cost - take
      total = total - take
      redis.call('ZREM', L.keys[1], last)
      if c > take then redis.call('ZADD', L.keys[1], 0, member(s, ns, c - take)) end
    end
    SL.store(L, total, now, grace)
  end
  return SL
end

---------------------------------------------------------------- sliding counter
-- Built only when a layer of this kind is in the call: a script's top level runs on every
-- call, and creating closures for algorithms not used is most of a small call's cost.
local function sc_module()
  local function limbs(x)
    local l0 = x % B; x = (x - l0) / B
    local l1 = x % B
    return { l0, l1, (x - l1) / B }
  end

  local function mul(a, b)
    local x, y, c = limbs(a), limbs(b), { 0, 0, 0, 0, 0, 0 }
    for i = 1, 3 do for j = 1, 3 do c[i + j - 1] = c[i + j - 1] + x[i] * y[j] end end
    local carry = 0
    for k = 1, 6 do
      local v = c[k] + carry
      carry = math.floor(v / B)
      c[k] = v - carry * B
    end
    return c
  end

  -- a*b <= c*d, exactly, for non-negative integers below 2^53.
  local function products_le(a, b, c, d)
    local p, q = mul(a, b), mul(c, d)
    for k = 6, 1, -1 do
      if p[k] ~= q[k] then return p[k] < q[k] end
    end
    return true
  end

  -- (s*1e9 + ns) mod m for m < 2^51, by doubling (no product above 2^53).
  local function mod_time(s, ns, m)
    local a, b, r = s % m, E9, 0
    while b > 0 do
      if b % 2 == 1 then r = r + a; if r >= m then r = r - m end end
      a = a + a; if a >= m then a = a - m end
      b = math.floor(b / 2)
    end
    return (r + ns % m) % m
  end

  local SC = {}

  function SC.load(L)
    local v = redis.call('GET', L.keys[1])
    if not v then return 0, 0, 0, 0 end
    local s, ns, p, c = string.match(v, '^(%d+) (%d+) (%d+) (%d+)$')
    return tonumber(s), tonumber(ns), tonumber(p), tonumber(c)
  end

  -- The state seen from now: window start (s, ns), elapsed, prev, cur (as spillway-core's view).
  function SC.view(L, now)
    local s, ns, p, c = SC.load(L)
    local w = L.window
    local since = diff(now[1], now[2], s, ns)
    if since < 0 then since = 0 end
    if since < w then return { s, ns, since, p, c } end
    if since - w < w then
      local ws, wns = norm(s, ns + w)
      return { ws, wns, since - w, c, 0 }
    end
    local e = mod_time(now[1], now[2], w)
    local ws, wns = norm(now[1], now[2] - e)
    return { ws, wns, e, 0, 0 }
  end

  function SC.allows(L, now)
    local v = SC.view(L, now)
    L.state = { v[1], v[2], v[3], v[4], v[5] }
    local room = L.limit - v[5] - L.cost
    if room >= 0 and products_le(v[4], L.window - v[3], room, L.window) then return true, nil, v end
    return false, v, v
  end

  -- Kept (for the grace) even with both counts zero: the window start still decides which window
  -- a later call with an earlier `now` lands in.
  function SC.store(L, v, now, grace)
    local windows = 0
    if v[5] > 0 then windows = 2 elseif v[4] > 0 then windows = 1 end
    local fresh_s, fresh_ns = norm(v[1], v[2] + windows * L.window)
    local ahead = diff(fresh_s, fresh_ns, now[1], now[2])
    if ahead < 0 then ahead = 0 end
    redis.call('SET', L.keys[1], string.format('%d %d %d %d', v[1], v[2], v[4], v[5]),
      'PX', math.max(ttl_ms(ahead, grace), 1))
  end

  function SC.commit(L, now, grace)
    if L.cost == 0 then return end
    local v = L.state or SC.view(L, now)
    v[5] = sat_add(v[5], L.cost)
    SC.store(L, v, now, grace)
  end

  function SC.refund(L, now, grace)
    local v = SC.view(L, now)
    local from_current = math.min(L.cost, v[5])
    v[5] = v[5] - from_current
    v[4] = math.max(v[4] - (L.cost - from_current), 0)
    SC.store(L, v, now, grace)
  end
  return SC
end

---------------------------------------------------------------- driver
local BUILD = { g = g_module, l = sl_module, c = sc_module }
local ALG = setmetatable({}, { __index = function(t, kind)
  local m = BUILD[kind]()
  rawset(t, kind, m)
  return m
end })

local function layers()
  local out, a, k = {}, 10, 1
  for i = 1, tonumber(ARGV[7]) do
    local L = { kind = ARGV[a], act = ARGV[a + 1] }
    a = a + 1
    if L.kind == 'g' then
      L.rate, L.ct_s, L.ct_ns, L.ct_r = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
      L.sl_s, L.sl_ns, L.sl_r = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7])
      L.keys = { KEYS[k] }; a = a + 8; k = k + 1
    elseif L.kind == 'l' or L.kind == 'c' then
      L.limit, L.window, L.cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
      if L.kind == 'l' then L.keys = { KEYS[k], KEYS[k + 1] }; k = k + 2 else L.keys = { KEYS[k] }; k = k + 1 end
      a = a + 4
    else
      return redis.error_reply('SPILLWAY bad layer kind at argument ' .. a)
    end
    L.index = i - 1
    out[i] = L
  end
  return out
end

local op, grace = ARGV[1], tonumber(ARGV[5])
local now
if ARGV[2] == 'r' then
  local t = redis.call('TIME')
  now = { tonumber(t[1]), tonumber(t[2]) * 1000 }
else
  now = { tonumber(ARGV[3]), tonumber(ARGV[4]) }
end
local ls = layers()
if ls.err then return ls end

local rid = ARGV[8]
local dk
if rid ~= '' then dk = KEYS[1] .. '|rid|' .. rid end

if op == 'apply' then
  for _, L in ipairs(ls) do
    if L.act == '+' then ALG[L.kind].commit(L, now, grace) else ALG[L.kind].refund(L, now, grace) end
  end
  return { 1, now[1], now[2] }
end

if op == 'cancel' then
  local was = redis.call('GET', dk)
  redis.call('SET', dk, 'x', 'PX', ARGV[9])
  if was ~= '1' then return { 1, now[1], now[2], 0 } end
  for _, L in ipairs(ls) do ALG[L.kind].refund(L, now, grace) end
  return { 1, now[1], now[2], 1 }
end

if op == 'acquire' and ARGV[6] == '1' then
  for _, L in ipairs(ls) do
    if L.kind == 'l' then ALG.l.prune_first(L, now, grace) end
  end
end

local denied = { 0, now[1], now[2] }
for _, L in ipairs(ls) do
  local ok, snap = ALG[L.kind].allows(L, now)
  if not ok then
    table.insert(denied, L.index)
    for _, x in ipairs(snap) do table.insert(denied, x) end
  end
end
if #denied > 3 then
  -- A retry of an acquire that was admitted (and charged) stays admitted.
  if dk and op == 'acquire' and redis.call('GET', dk) == '1' then return { 1, now[1], now[2] } end
  return denied
end
if op == 'acquire' then
  -- Already admitted (a retry) or cancelled: charge nothing.
  if dk and not redis.call('SET', dk, '1', 'NX', 'PX', ARGV[9]) then return { 1, now[1], now[2] } end
  for _, L in ipairs(ls) do ALG[L.kind].commit(L, now, grace) end
end
return { 1, now[1], now[2] }
