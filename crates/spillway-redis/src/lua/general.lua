-- Spillway limiter library, part 2 (appended to hot.lua: one chunk, its locals in scope):
-- the general path (any layers and ops) and the entry point. Each algorithm: allows(L) (caches
-- what it read in L for commit), commit(L), refund(L), and room(L): its state after the call,
-- for the reply's room (see the header of hot.lua).

local G = {}

function G.allows(L)
  L.s, L.ns, L.f, L.h = g_load(L.key)
  local ls, lns = norm(now_s + L.sl_s, now_ns + L.sl_ns)
  if later(L.s, L.ns, L.f, ls, lns, L.sl_r) then return false, { L.s, L.ns, L.f } end
  return true
end

function G.commit(L)
  if not L.s then L.s, L.ns, L.f, L.h = g_load(L.key) end
  L.s, L.ns, L.f = g_add(L.s, L.ns, L.f, L.rate, L.ct_s, L.ct_ns, L.ct_r)
  g_store(L.key, L.s, L.ns, L.f, L.h, g_spare(L.ct_s, L.ct_ns, L.sl_s, L.sl_ns))
end

function G.room(L) return { L.s, L.ns, L.f } end

-- (s, ns, f) - (bs, bns, bf) as a TAT triple (seconds negative when b is the later).
local function g_sub(s, ns, f, rate, bs, bns, bf)
  f, ns = f - bf, ns - bns
  if f < 0 then f = f + rate; ns = ns - 1 end
  s, ns = norm(s - bs, ns)
  return s, ns, f
end

-- A refund (as spillway-core's Gcra, refunded_tat): of the charge made at (L.cs, L.cns) of
-- cost*T (L.ch_*), only what has surely not refilled comes back. That charge ends at or after
-- charge_end = its instant + its cost*T, so the TAT drops by min(cost*T, charge_end - now,
-- TAT - now): to the latest of TAT - cost*T, now + (TAT - charge_end) and now.
function G.refund(L)
  local s, ns, f, h = g_load(L.key)
  if not later(s, ns, f, now_s, now_ns, 0) then return end
  local es, ens = norm(L.cs + L.ch_s, L.cns + L.ch_ns)
  local ef = L.ch_r
  if not later(es, ens, ef, now_s, now_ns, 0) then return end
  local fs, fns, ff = now_s, now_ns, 0
  if later(s, ns, f, es, ens, ef) then
    local ds, dns, df = g_sub(s, ns, f, L.rate, es, ens, ef)
    fs, fns = norm(now_s + ds, now_ns + dns)
    ff = df
  end
  s, ns, f = g_sub(s, ns, f, L.rate, L.ct_s, L.ct_ns, L.ct_r)
  if s < 0 or later(fs, fns, ff, s, ns, f) then s, ns, f = fs, fns, ff end
  g_store(L.key, s, ns, f, h, g_spare(L.ct_s, L.ct_ns, L.sl_s, L.sl_ns))
end

local SL = {}

-- The log seen at now, read once per call: meta, and the expired entries' cost, count, and
-- the oldest live entry's instant.
function SL.view(L)
  if not L.m then
    L.m = l_load(L.key)
    L.sum, L.n, L.os, L.ons = l_expired(L.key, L.m, L.window)
  end
  return L.m
end

-- Drop expired entries: the pruned meta.
function SL.prune(L)
  local m = SL.view(L)
  l_prune(L.key, m, L.sum, L.n, L.os, L.ons)
  L.sum, L.n = 0, 0
  return m
end

-- A single-limiter acquire prunes first (and keeps the pruned log even if it denies).
function SL.prune_first(L)
  local pruned = SL.view(L) and L.n > 0
  local m = SL.prune(L)
  if pruned then l_store(L.key, L.window, m) end
end

function SL.allows(L)
  local used = SL.view(L).total - L.sum
  if used + L.cost <= L.limit then return true end
  return false, { l_retry(L.key, L.n, L.window, L.limit, L.cost, used) }
end

-- Live total and newest entry (live whenever the total is not 0).
function SL.room(L)
  local m = SL.view(L)
  return { m.total - L.sum, m.ls, m.lns }
end

-- L.rid: the packed request id to keep in the entry (a tagged acquire of logs only), or nil.
function SL.commit(L)
  if L.cost == 0 then return end
  local m = SL.prune(L)
  l_record(L.key, L.limit, L.window, L.cost, m, L.rid or '')
  l_store(L.key, L.window, m)
end

-- Drop the newest entry (its cost already taken from m.total); the one before becomes the
-- newest, with its ids.
local function l_pop(key, m)
  call('RPOP', key)
  m.count = m.count - 1
  local last = call('LINDEX', key, -1)
  if last then l_newest(m, last) end
end

-- Whether an entry at (s, ns) is older than the cancelled acquire's `now`, so that neither it
-- nor an older entry holds its id: an acquire's entry has an instant at or after its `now`
-- (appended at it, or merged into a later entry), merges only move an entry forward and
-- refunds keep its instant. On the caller's time the cancellation carries its acquire's `now`
-- (the store sends a copy); on Redis time its own is later: no bound then.
local function before_acquire(s, ns)
  return caller_time and later(now_s, now_ns, 0, s, ns, 0)
end

-- The entry holding request id `id`, newest first (a lost reply's acquire is recent): its
-- index (0 = oldest), its bytes (nil for the newest, whose cost and ids are in m) and where the
-- id starts in it. Older entries are read in chunks of 16, 32, ... down to the acquire's `now`
-- (before_acquire; on Redis time, the whole log: at most `limit` entries, or a few more after
-- commits beyond capacity). Nil when no entry holds it.
local function l_find(key, m, id)
  if m.count == 0 or before_acquire(m.ls, m.lns) then return nil end
  local p = id_at(l_ids(m), id, 1)
  if p then return m.count - 1, nil, p + IDS - 1 end
  local hi, size = m.count - 2, 16
  while hi >= 0 do
    local lo = math.max(hi - size + 1, 0)
    local list = call('LRANGE', key, lo, hi)
    for j = #list, 1, -1 do
      local e = list[j]
      if before_acquire(unpack(HEAD, e)) then return nil end
      p = id_at(e, id, IDS)
      if p then return lo + j - 1, e, p end
    end
    hi, size = lo - 1, size * 2
  end
  return nil
end

-- Take `cost` back from entry i (bytes e; nil for the newest) and, when p says where, drop
-- the id it holds; an entry left with no cost goes. Only the newest entry's meta is current,
-- so an older entry is rewritten (or removed) as it is, and m (stale) is written back by
-- l_store.
local function l_unrecord(key, m, i, e, p, cost)
  if not e then
    local take = math.min(cost, m.lc)
    m.total, m.lc, m.stale = m.total - take, m.lc - take, true
    if p then
      p = p - IDS + 1
      local ids = l_ids(m)
      m.ids = sub(ids, 1, p - 1) .. sub(ids, p + RID_LEN)
    end
    if m.lc == 0 then l_pop(key, m) end
    return
  end
  local s, ns, c = unpack(HEAD, e)
  local take = math.min(cost, c)
  m.total, m.stale = m.total - take, true
  if c > take then
    -- the 16-byte head rewritten, the rest kept but the id
    local rest = sub(e, 17)
    if p then rest = sub(e, 17, p - 1) .. sub(e, p + RID_LEN) end
    call('LSET', key, i, pack(HEAD, s, ns, c - take) .. rest)
  elseif i == 0 then
    call('LPOP', key)
    m.count = m.count - 1
    m.os, m.ons = unpack(HEAD, call('LINDEX', key, 0))
  else
    call('LREM', key, 1, e) -- unique: instants strictly increase
    m.count = m.count - 1
  end
end

-- The entry holding the charge made at (s, ns): the oldest at or after it (an acquire's entry
-- has its instant or, merged, a later one: see before_acquire), as l_find's (index, bytes or
-- nil for the newest); nil when every entry is older. Instants strictly increase along the
-- list, so a binary search finds it in about log2(count) LINDEX reads, however many requests
-- were charged since: a settle comes after its call, and a walk back from the newest entry
-- read every one of them (a busy log with long streams: thousands a settle, milliseconds of
-- Redis time each).
local function l_at(key, m, s, ns)
  if m.count == 0 or later(s, ns, 0, m.ls, m.lns, 0) then return nil end
  -- Entry `hi` is at or after the charge (the newest is: checked above); every entry before
  -- `lo` is older.
  local lo, hi, bytes = 0, m.count - 1, nil
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local e = call('LINDEX', key, mid)
    local es, ens = unpack(HEAD, e)
    if later(s, ns, 0, es, ens, 0) then
      lo = mid + 1
    else
      hi, bytes = mid, e
    end
  end
  if hi == m.count - 1 then bytes = nil end
  return hi, bytes
end

-- A settle's refund (as spillway-core's): out of the charge made at (L.cs, L.cns) only, at
-- most what its entry holds, and nothing once that instant has left the window. Taking from
-- the newest entries would give back room charged by others after the window rolled.
function SL.refund(L)
  local m = SL.prune(L)
  if -ahead(L.cs, L.cns) < L.window then
    local i, e = l_at(L.key, m, L.cs, L.cns)
    if i then l_unrecord(L.key, m, i, e, nil, L.cost) end
  end
  l_store(L.key, L.window, m)
end

-- A cancellation's part in one log: refund exactly the entry that charged request id `rid`
-- (by id, where a settle's SL.refund finds its charge by instant). False when no entry holds
-- it: the acquire was denied, has left the window (nothing to refund) or has not landed yet.
function SL.cancel(L)
  local m = SL.prune(L)
  local i, e, p = l_find(L.key, m, rid)
  if i then l_unrecord(L.key, m, i, e, p, L.cost) end
  l_store(L.key, L.window, m)
  return i ~= nil
end

local SC = {}
do
  local B = 262144 -- 2^18 limb base

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
      carry = floor(v / B)
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
      b = floor(b / 2)
    end
    return (r + ns % m) % m
  end

  -- The state seen from now: window start (s, ns), elapsed, prev, cur (as spillway-core's view).
  function SC.view(L)
    local v = state(L.key, 'sliding counter', 32, 32)
    local s, ns, p, c = 0, 0, 0, 0
    if v then s, ns, p, c = unpack('<dddd', v) end
    local w = L.window
    local since = -ahead(s, ns)
    if since < 0 then since = 0 end
    if since < w then return { s, ns, since, p, c } end
    if since - w < w then
      local ws, wns = norm(s, ns + w)
      return { ws, wns, since - w, c, 0 }
    end
    local e = mod_time(now_s, now_ns, w)
    local ws, wns = norm(now_s, now_ns - e)
    return { ws, wns, e, 0, 0 }
  end

  function SC.allows(L)
    local v = SC.view(L)
    L.state = { v[1], v[2], v[3], v[4], v[5] }
    local room = L.limit - v[5] - L.cost
    if room >= 0 and products_le(v[4], L.window - v[3], room, L.window) then return true end
    return false, v
  end

  -- Kept (for the grace) even with both counts zero: the window start still decides which window
  -- a later call with an earlier `now` lands in.
  function SC.store(L, v)
    local windows = 0
    if v[5] > 0 then windows = 2 elseif v[4] > 0 then windows = 1 end
    local fresh_s, fresh_ns = norm(v[1], v[2] + windows * L.window)
    local a = ahead(fresh_s, fresh_ns)
    if a < 0 then a = 0 end
    call('SET', L.key, pack('<dddd', v[1], v[2], v[4], v[5]), 'PX', math.max(ttl_ms(a), 1))
  end

  function SC.room(L) return L.state end

  function SC.commit(L)
    if L.cost == 0 then return end
    local v = L.state or SC.view(L)
    v[5] = sat_add(v[5], L.cost)
    SC.store(L, v)
  end

  -- Out of the count of the window the charge was made in (at L.cs, L.cns): the current one,
  -- the previous one, or none once older (as spillway-core's refund). The difference is exact
  -- while within 2^53 ns, and further away still compares right against a window < 2^51 ns.
  function SC.refund(L)
    local v = SC.view(L)
    local since = (L.cs - v[1]) * E9 + (L.cns - v[2])
    if since >= 0 and since < L.window then
      v[5] = math.max(v[5] - L.cost, 0)
    elseif since < 0 and -since <= L.window then
      v[4] = math.max(v[4] - L.cost, 0)
    end
    SC.store(L, v)
  end
end


local ALG = { g = G, l = SL, c = SC }

-- The layers of a general call, from the mode and the packed numbers.
local function layers(keys, mode, nums, at)
  local ls, k = {}, 1
  for i = 1, (#mode - 1) / 2 do
    local kind = sub(mode, 2 * i, 2 * i)
    local L = { kind = kind, act = sub(mode, 2 * i + 1, 2 * i + 1), index = i - 1, key = keys[k] }
    -- when the refunded charge was made (a cancellation's: see op 'X')
    L.cs, L.cns = now_s, now_ns
    if kind == 'g' then
      L.rate, L.ct_s, L.ct_ns, L.ct_r, L.sl_s, L.sl_ns, L.sl_r, at = unpack('<ddddddd', nums, at)
      -- and what it charged: a settle's estimate, or (a cancellation) the refunded cost itself
      L.ch_s, L.ch_ns, L.ch_r = L.ct_s, L.ct_ns, L.ct_r
      if L.act == '-' then
        L.cs, L.cns, L.ch_s, L.ch_ns, L.ch_r, at = unpack('<ddddd', nums, at)
      end
      k = k + 1
    elseif kind == 'l' or kind == 'c' then
      L.limit, L.window, L.cost, at = unpack('<ddd', nums, at)
      if L.act == '-' then L.cs, L.cns, at = unpack('<dd', nums, at) end
      k = k + 1
    else
      return nil, 'SPILLWAY bad layer kind ' .. kind .. ' at layer ' .. i
    end
    ls[i] = L
  end
  return ls
end

-- Every layer's room after the call, prefixed with its length: {n, ..values..}.
local function rooms(ls)
  local out = { 0 }
  for _, L in ipairs(ls) do
    for _, x in ipairs(ALG[L.kind].room(L)) do out[#out + 1] = x end
  end
  out[1] = #out - 1
  return out
end

-- `reply` with the room inserted after its (flag, now_s, now_ns) header, when asked for.
local function with_room(reply, ls, room)
  if room ~= 1 then return reply end
  local out = { reply[1], reply[2], reply[3] }
  for _, x in ipairs(rooms(ls)) do out[#out + 1] = x end
  for i = 4, #reply do out[#out + 1] = reply[i] end
  return out
end

-- Marks expire one by one too: each field's value is its expiry (Redis TIME, ms: the clock of
-- the hash's own expiry), and each new mark drops the expired ones among SWEEP fields drawn at
-- random. A hash then holds its live marks and about a third more (in expectation: a draw of
-- 4 drops one expired field per new mark once a quarter have expired), not every mark since
-- its last quiet `dedupe_ttl`. Returns the new mark's expiry.
local SWEEP = 4
local function l_sweep(ttl)
  local t = call('TIME')
  local ms = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
  local got = call('HRANDFIELD', dk, SWEEP, 'WITHVALUES')
  for i = 1, #got, 2 do
    local at = got[i] ~= 'until' and tonumber(got[i + 1])
    if at and at <= ms then call('HDEL', dk, got[i]) end
  end
  return ms + ttl
end

-- A cancellation of logs that found its id in none: mark it in the first log's marks hash
-- (dk: the id, and `until` = the latest mark's now + its lifetime, caller's time ms), which
-- lives the longest lifetime from its marks (a mark with a shorter `dedupe_ttl` never cuts
-- an earlier one short), and tell the first log's meta (if it has a key and knows its marks:
-- an UNKNOWN one reads `until` at its next admission) until when its admissions must look.
-- The acquire carries the same `now` as its cancellation (or, on Redis time, a later one
-- within the lifetime), so it finds the meta's `until` ahead.
local function l_mark(L)
  local ttl = tonumber(rid_ttl)
  local until_ms, old = ms_now + ttl, call('HGET', dk, 'until')
  if old then until_ms = math.max(until_ms, (unpack('<d', old))) end
  call('HSET', dk, rid, tostring(l_sweep(ttl)), 'until', pack('<d', until_ms))
  if call('PTTL', dk) < ttl then call('PEXPIRE', dk, ttl) end
  local m = L.m
  if m.count > 0 and m.marks < until_ms then
    m.marks, m.stale = until_ms, true
    l_store(L.key, L.window, m)
  end
end

-- Whether every layer is a sliding log: a tagged call then keeps its request id in the logs'
-- entries instead of a record key (see the header of hot.lua).
local function every_log(ls)
  for _, L in ipairs(ls) do
    if L.kind ~= 'l' then return false end
  end
  return true
end

-- Any layers, any op.
local function general(keys, mode, nums, at, prune_first, room)
  local op = sub(mode, 1, 1)
  local ls, err = layers(keys, mode, nums, at)
  if not ls then return redis.error_reply(err) end
  if op == 'P' then
    for _, L in ipairs(ls) do
      if L.act == '+' then ALG[L.kind].commit(L) else ALG[L.kind].refund(L) end
    end
    return allowed()
  end
  local logs = dk and every_log(ls)
  if op == 'X' and logs then
    local found = 0
    for _, L in ipairs(ls) do
      if SL.cancel(L) then found = 1 end
    end
    if found == 0 then l_mark(ls[1]) end
    return { 1, now_s, now_ns, found }
  end
  if op == 'X' then
    local was = call('GET', dk)
    call('SET', dk, 'x', 'PX', rid_ttl)
    if not was or was == 'x' then return { 1, now_s, now_ns, 0 } end
    -- charged: out of the charge made at the acquire's instant, which the record kept
    local cs, cns = unpack('<dd', was)
    for _, L in ipairs(ls) do
      L.cs, L.cns = cs, cns
      ALG[L.kind].refund(L)
    end
    return { 1, now_s, now_ns, 1 }
  end
  if op == 'A' and prune_first == 1 then
    for _, L in ipairs(ls) do
      if L.kind == 'l' then SL.prune_first(L) end
    end
  end
  local reply = { 0, now_s, now_ns }
  for _, L in ipairs(ls) do
    local ok, snap = ALG[L.kind].allows(L)
    if not ok then
      reply[#reply + 1] = L.index
      for _, x in ipairs(snap) do reply[#reply + 1] = x end
    end
  end
  if #reply > 3 then
    if op == 'A' and not logs then reply = denied(reply) end
    return with_room(reply, ls, room)
  end
  if op == 'A' and logs then
    if l_not_cancelled(SL.view(ls[1])) then
      for _, L in ipairs(ls) do
        L.rid = rid
        SL.commit(L)
      end
    end
  elseif op == 'A' and first_time() then
    for _, L in ipairs(ls) do ALG[L.kind].commit(L) end
  end
  return with_room(allowed(), ls, room)
end

local function bind()
  unpack, pack, call, pcall_ = struct.unpack, struct.pack, redis.call, redis.pcall
  sub, find, byte, floor = string.sub, string.find, string.byte, math.floor
end

-- The entry point (registered by store.rs): (KEYS, ARGV) as an EVAL script would see them.
local function spillway(keys, args)
  if not call then bind() end
  local mode, nums = args[1], args[2]
  rid_ttl, rid = args[3], args[4]
  dk = rid_ttl and keys[#keys] -- the request-id record, or nil
  if dk and (not rid or #rid ~= RID_LEN) then
    return redis.error_reply('SPILLWAY a tagged call needs a ' .. RID_LEN .. '-byte request id')
  end
  local clock, prune_first, room, at
  clock, now_s, now_ns, grace, prune_first, room, at = unpack('<dddddd', nums)
  if clock == 1 then
    local t = call('TIME')
    now_s, now_ns = tonumber(t[1]), tonumber(t[2]) * 1000
  end
  ms_now = now_s * 1000 + floor(now_ns / 1000000)
  caller_time = clock ~= 1
  bare = caller_time and room ~= 1
  if room ~= 1 then
    if mode == 'Ag?' then return g_acquire(keys[1], nums, at) end
    if mode == 'Al?' and prune_first == 1 then return l_acquire(keys[1], nums, at) end
  end
  return general(keys, mode, nums, at, prune_first, room)
end
