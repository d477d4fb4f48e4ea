-- Spillway: every limiter of a request, checked then committed in one atomic call.
-- A Redis Functions library (FUNCTION LOAD once, FCALL per call). Part 1: per-call state,
-- shared helpers and the two hot paths; general.lua (appended by store.rs, one chunk) holds
-- the general path and the entry point; store.rs adds the `#!lua name=` line and the
-- register_function call, both named after a hash of the source.
--
-- Exactness. Lua numbers are doubles: integers are exact only below 2^53. So
--  * an instant is a pair (s, ns): whole seconds and nanoseconds 0..1e9-1 (s < 2^35 for any u64);
--  * a GCRA theoretical arrival time is a triple (s, ns, frac): ns + frac/rate, frac < rate;
--  * windows are < 2^51 ns and counts < 2^53 (checked in Rust before the call);
--  * the one product the counter compares, prev*(W-e) <= room*W, is done on base-2^18 limbs;
--  * the one division a denial needs (GCRA, counter) is done in Rust on u128 from the snapshot
--    returned here, with the same formula as spillway-core.
--
-- Speed. A library's chunk runs once, at FUNCTION LOAD: every helper below is a closure built
-- then, not per call (an EVAL script's body re-creates each function it reaches on every call).
-- Per call remain: the entry function, the reply table, and what the algorithm itself does.
-- Numbers arrive packed as little-endian doubles (one struct.unpack instead of a tonumber per
-- argument) and state is stored packed the same way (no string.match / string.format).
-- Redis 7.0 hides the standard libraries while a library loads, so `struct`, `string`, `math`
-- and `redis.call` are bound to upvalues on the first call (bind() in general.lua).
--
-- KEYS: per layer its key, then for a tagged acquire or its
--       cancellation the request-id record (<first key>|rid|<id>), or when every layer is a
--       sliding log the hash of the first log's marks (<first key>|marks, below).
-- ARGV: mode: an op letter ('A' acquire, 'C' check, 'P' apply, 'X' cancel), then per layer a
--       kind letter and an action letter ('+' commit, '-' refund for op 'P'; '?' otherwise):
--       'Ag?', 'Cc?g?l?', ...;
--       numbers (packed '<d' doubles): header: clock (1 = use Redis TIME), now_s, now_ns,
--       grace_ms, prune_first (1 = single-limiter acquire: a log prunes even when it denies,
--       like SlidingWindowLog::acquire), room (1 = reply with every layer's room, below), then
--       per layer:
--       'g' rate ct_s ct_ns ct_r sl_s sl_ns sl_r [charged_s charged_ns ch_s ch_ns ch_r]
--           (GCRA: cost*T and (capacity-cost)*T; for action '-' the refunded charge's instant
--           and its own cost*T: a bucket gives back only what of that charge has not refilled)
--       'l' limit window cost [charged_s charged_ns]  (sliding log)
--       'c' limit window cost [charged_s charged_ns]  (sliding counter);
--       (the instant a refund's charge was made, for action '-' only: a window gives back out
--       of that charge, in its own window, never out of charges made after it);
--       for a tagged call, the request-id record's lifetime in ms, then the request id packed
--       in RID_LEN bytes (wire.rs).
-- State (values packed '<d' doubles): GCRA key = TAT (s, ns, frac) and the expiry's horizon
-- (ms; see horizon()); counter key = window start (s, ns), prev, cur; log = a list of entries,
-- oldest first (instant, cost, and the log's meta in the newest: total, entries, oldest
-- instant, expiry horizon, marks' horizon (UNKNOWN: not read yet); then the ids of the
-- acquires it holds; see 'sliding log' below): format 5 (2026-12-04 night).
-- Request ids (no phantom charges). Acquires are never sent twice (store.rs: a call is sent
-- again only when the function was missing, i.e. it did not run), but a reply can be lost: op
-- 'X' (the client answered by its failure policy) then refunds the acquire if it was charged,
-- and otherwise leaves a mark so that an acquire still in flight charges nothing when it lands.
-- A call whose layers are all sliding logs keeps the id in the entry it charges (no key per
-- admission): 'X' finds and removes it there (the exact entry, in every log), or, when the id
-- is in none of the logs, marks it in the first log's hash and tells that log's meta until
-- when marks may exist; an admission charges unless marked, and looks only while its `now` is
-- before that, or when the meta says UNKNOWN (no key, or a log created by a call that did not
-- read this hash: it reads `until` once): see l_not_cancelled and l_mark. Any other call
-- creates its record with SET NX when it admits and charges only if the record is new (the
-- record holds the acquire's instant, packed '<dd'); 'X' marks the record ('x') and, if it
-- held an instant (charged), refunds every layer out of the charge made then.
-- Reply: {1, now_s, now_ns} allowed / done ('X': {1, now_s, now_ns, refunded 0|1}; just '1'
-- when allowed / done on the caller's time without room), or
-- {0, now_s, now_ns, idx, ..snapshot.., idx, ...} where idx is the layer's position in this
-- call and the snapshot is per kind:
--   'g' tat_s tat_ns tat_frac      'l' retry_s retry_ns      'c' start_s start_ns elapsed prev cur
-- With room = 1 (an acquire or check), {flag, now_s, now_ns, n, ..room.., then as above}: n
-- values, per layer in call order its state after the call (what the x-ratelimit-* headers are
-- computed from in Rust):
--   'g' tat_s tat_ns tat_frac      'l' total newest_s newest_ns  'c' start_s start_ns elapsed prev cur

local E9 = 1000000000
local FAR = 4503599627370496 -- 2^52: "further away than any window" (2W <= 2^52)
-- ceil(2^52 / 1e9) s: a whole-second gap above it is more than FAR ns whatever the ns parts,
-- and one at most it, times 1e9, stays below 2^53 (exact).
local FAR_S = 4503600
local MAX_COUNT = 9007199254740991 -- 2^53 - 1: counts saturate here

-- Bound on the first call (see the header).
local unpack, pack, call, pcall_, sub, find, byte, floor

-- Per call: the instant (and in whole ms, the unit of expiry horizons and marks), the expiry
-- grace, the request-id record, its lifetime and the packed id, whether an admission may
-- answer bare (below), and whether the instant is the caller's (not Redis TIME).
local now_s, now_ns, ms_now, grace, dk, rid_ttl, rid, bare, caller_time
-- Admitted (or done). A call on the caller's time that wants no room is answered '1' alone:
-- the client knows its own instant, and a reply table costs the server ~0.6 us more per call
-- (reports/perf-redis.md).
local function allowed()
  if bare then return '1' end
  return { 1, now_s, now_ns }
end

-- A denied acquire: a retry of one that was admitted (and charged) stays admitted.
local function denied(reply)
  if not dk then return reply end
  local was = call('GET', dk)
  if was and was ~= 'x' then return allowed() end
  return reply
end

-- An admitted acquire charges only if its request id is new (not a retry, not cancelled).
-- The record keeps the instant it charged at: on Redis time its cancellation's own `now` is
-- later, and a window refunds out of the charge made at that instant.
local function first_time()
  return not dk or call('SET', dk, pack('<dd', now_s, now_ns), 'NX', 'PX', rid_ttl)
end


-- (s, ns) - now in ns, exact while within +-FAR (a little beyond, up to +-(FAR_S + 1) s), and
-- +-FAR only when truly further: the counter tells "the next window" (< 2W) from "two windows
-- on" (>= 2W) by it, with W up to 2^51 ns, so the cut must not fall below 2^52 ns.
local function ahead(s, ns)
  local ds = s - now_s
  if ds > FAR_S then return FAR elseif ds < -FAR_S then return -FAR end
  return ds * E9 + (ns - now_ns)
end

local function ttl_ms(ns)
  return floor((ns + 999999) / 1000000) + grace
end

-- The spare of an expiry: (s, ns) as whole ms (a window or a refill time), capped at SPARE_MS.
-- 10 s: a busy key of a long window then moves its expiry once per 10 s instead of once per
-- window (noise beside thousands of calls a second; the bench's 1 s windows are below the cap,
-- unchanged), while an idle key outlives its need (grace included) by at most 10 s + grace,
-- not by a whole window (a 1-day log would keep its entries ~2 days). The horizon is in the caller's time: a caller whose clock stands still (WallClock
-- after an NTP step back) never moves it, and the key expires need + grace + spare of real time
-- after it was set; by then that caller lags by more than the grace, which the grace does not
-- cover either way (before horizons the key was moved on every write).
local SPARE_MS = 10000
local function spare_ms(s, ns)
  if s >= SPARE_MS / 1000 then return SPARE_MS end -- also keeps s * 1000 small
  local ms = s * 1000 + floor(ns / 1000000)
  if ms > SPARE_MS then return SPARE_MS end
  return ms
end

-- Expiries are set with room to spare and moved only when it runs out: a write that would only
-- push the expiry a little further keeps it (SET KEEPTTL, or no PEXPIRE), which spares Redis
-- ~0.5-1 us per call on a busy key. `need`: the ttl (ms, grace included) the state needs from
-- now; `h`: until when (caller's time, ms) the expiry set earlier holds (0: no key, or none
-- known); (sp_s, sp_ns): the extra time to set (see spare_ms(), only computed when the expiry
-- moves). It holds if it covers the need plus another grace (a
-- caller whose clock lags by up to the grace still finds the state). Returns the ttl to set
-- and the new horizon, or nil and `h`. Idle keys therefore live up to `spare` + grace longer
-- (`spare` at most SPARE_MS: see spare_ms()).
local function horizon(need, h, sp_s, sp_ns)
  local at = ms_now
  if h - at - 1 >= need + grace then return nil, h end
  local ttl = need + grace + spare_ms(sp_s, sp_ns)
  if ttl < 1 then ttl = 1 end
  return ttl, at + ttl
end

-- (s, ns, f) later than (ls, lns, lf), compared in that order.
local function later(s, ns, f, ls, lns, lf)
  if s ~= ls then return s > ls end
  if ns ~= lns then return ns > lns end
  return f > lf
end

local function norm(s, ns)
  local q = floor(ns / E9)
  return s + q, ns - q * E9
end

---------------------------------------------------------------- token bucket (GCRA)
-- A string state of `len` bytes (or `alt`), nil when absent. A value of any other length
-- was written by another state format (or another algorithm under this name): refused, as
-- l_load refuses a log's, rather than misread. A key of another type fails on GET (WRONGTYPE).
local function state(key, what, len, alt)
  local v = call('GET', key)
  if v and #v ~= len and #v ~= alt then
    error({ err = 'SPILLWAY ' .. what .. ' ' .. key .. ' has another state format: use a new prefix' })
  end
  return v
end

-- The TAT and the expiry's horizon (see horizon()). A 24-byte value, written before the
-- horizon was kept (2026-12-04), reads as one with no known horizon; a build of that day reads
-- the first three doubles of a new value: the two can share keys. (A counter's state is 32
-- bytes too: a counter under a bucket's name is not told apart; names are the caller's.)
local function g_load(key)
  local v = state(key, 'token bucket', 32, 24)
  if not v then return 0, 0, 0, 0 end
  if #v == 24 then
    local s, ns, f = unpack('<ddd', v)
    return s, ns, f, 0
  end
  local s, ns, f, h = unpack('<dddd', v)
  return s, ns, f, h
end

-- The TAT after charging (ct_s, ct_ns, ct_r) from max(TAT, now).
local function g_add(s, ns, f, rate, ct_s, ct_ns, ct_r)
  if not later(s, ns, f, now_s, now_ns, 0) then s, ns, f = now_s, now_ns, 0 end
  f = f + ct_r
  if f >= rate then f = f - rate; ns = ns + 1 end
  s, ns = s + ct_s, ns + ct_ns
  if ns >= E9 then s, ns = s + 1, ns - E9 end
  return s, ns, f
end

-- Kept even when full at now (a refund can bring the TAT back to now): dropping it would forget
-- the TAT for a caller whose next `now` is earlier. The grace bounds how long that matters.
-- `h`: the horizon read with the TAT; (sp_s, sp_ns): the bucket's refill time (g_spare).
local function g_store(key, s, ns, f, h, sp_s, sp_ns)
  local a = ahead(s, ns)
  if a < 0 then a = 0 elseif f > 0 then a = a + 1 end
  local ttl
  ttl, h = horizon(ttl_ms(a), h, sp_s, sp_ns)
  if ttl then
    call('SET', key, pack('<dddd', s, ns, f, h), 'PX', ttl)
  else
    call('SET', key, pack('<dddd', s, ns, f, h), 'KEEPTTL')
  end
end

-- A bucket's expiry spare: its refill time as (s, ns) (cost + slack; an apply has no slack). Shared
-- with the general path (general.lua is appended to this chunk).
local function g_spare(ct_s, ct_ns, sl_s, sl_ns) return ct_s + sl_s, ct_ns + sl_ns end

-- Hot path: one token bucket, acquire (what the general path does with G.allows then G.commit).
local function g_acquire(key, nums, at)
  local rate, ct_s, ct_ns, ct_r, sl_s, sl_ns, sl_r = unpack('<ddddddd', nums, at)
  local s, ns, f, h = g_load(key)
  local ls, lns = now_s + sl_s, now_ns + sl_ns
  if lns >= E9 then ls, lns = ls + 1, lns - E9 end
  if later(s, ns, f, ls, lns, sl_r) then
    return denied({ 0, now_s, now_ns, 0, s, ns, f })
  end
  if first_time() then
    s, ns, f = g_add(s, ns, f, rate, ct_s, ct_ns, ct_r)
    g_store(key, s, ns, f, h, g_spare(ct_s, ct_ns, sl_s, sl_ns))
  end
  return allowed()
end

---------------------------------------------------------------- sliding log
-- A log is one Redis list of entries, oldest first. A request at or before the newest entry's
-- instant (or when the log is full) is merged into that entry, any other is appended, so the
-- list stays in time order: reading the newest is LINDEX -1, appending RPUSH, rewriting the
-- newest LSET -1, pruning LTRIM, where a sorted set compared the new member with every member
-- on each insert (format 5, 2026-12-04 night; format 4 that evening had no request ids, format 3
-- was a sorted set of the same entries).
-- An entry: 54 big-endian bytes, its instant (5-byte seconds, 4-byte ns), its cost (7 bytes: any
-- count below 2^53), then the log's meta when it was written: total, entry count, oldest
-- instant, until when (caller's time, ms) the key's expiry is known to hold, and until when
-- acquires must look for cancellation marks in the log's own hash (0: none; UNKNOWN: not read
-- by the call that created the log); then the format byte (5), then the
-- packed ids (RID_LEN bytes each) of the tagged acquires charged in it (one, or several merged
-- at one instant). Only the newest entry's meta is current: one LINDEX reads
-- the whole log's state, and an admission writes entry, meta and id with one RPUSH (no
-- separate meta key or request-id key, one expiry).
local ENTRY, HEAD = '>I5I4I7I7I7I5I4I7I7', '>I5I4I7'
-- And the format byte, then the ids ('c0': the whole string, '' included): packed in one go,
-- no intermediate string to concatenate.
local WRITTEN = ENTRY .. 'Bc0'
local FORMAT, IDS, RID_LEN = 5, 55, 14 -- IDS: where the ids start
-- The marks' horizon of a log whose creator did not read its marks' hash (a log created as a
-- later layer, by a mixed call, an apply or a store without exact accounting: only a call
-- whose first key is the log names its hash). Later than any `now`, so an acquire that finds
-- it reads the hash (see l_not_cancelled). Fits the 7-byte field, exact as a double.
local UNKNOWN = MAX_COUNT

-- The newest entry's ids, cut from its bytes (m.raw) when first needed: an append needs none.
local function l_ids(m)
  if not m.ids then m.ids = sub(m.raw, IDS) end
  return m.ids
end

local function member(m)
  return pack(WRITTEN, m.ls, m.lns, m.lc, m.total, m.count, m.os, m.ons, m.exp, m.marks, FORMAT,
    l_ids(m))
end

-- Where `id` starts in `s` (on an id boundary counted from `from`), or nil.
local function id_at(s, id, from)
  local p = from
  while true do
    p = find(s, id, p, true)
    if not p or (p - from) % RID_LEN == 0 then return p end
    p = p + 1
  end
end

-- The newest entry's instant, cost and (see l_ids) ids, from its stored bytes.
local function l_newest(m, v)
  m.ls, m.lns, m.lc = unpack(HEAD, v)
  m.raw, m.ids = v, nil
end

-- The hot path's log state, filled again by each call (l_load): a table less to build and
-- collect per call. The general path builds one per layer.
local HOT = {}

-- The log's state from its newest entry, in `m` (or a new table); zeros when absent. With the
-- oldest instant at hand, a call learns that nothing expired without a range query; with the
-- newest, a commit merges without reading more. A key of another type or an entry without the
-- format byte was written by another state format: refused (upgrade with a new prefix), as an
-- older build refuses these entries (format 4 wanted exactly 46 bytes).
local function l_load(key, m)
  local v = pcall_('LINDEX', key, -1)
  if not m then
    m = { total = 0, count = 0, os = 0, ons = 0, ls = 0, lns = 0, lc = 0, exp = 0,
      marks = UNKNOWN, ids = '', raw = false, stale = false }
  end
  m.stale = false
  if not v then
    m.total, m.count, m.os, m.ons, m.ls, m.lns, m.lc, m.exp = 0, 0, 0, 0, 0, 0, 0, 0
    m.marks, m.ids, m.raw = UNKNOWN, '', false
    return m
  end
  if type(v) ~= 'string' or byte(v, IDS - 1) ~= FORMAT then
    error({ err = 'SPILLWAY sliding log ' .. key .. ' has another state format: use a new prefix' })
  end
  -- every field of the state (a reused table's included) set here or above
  m.ls, m.lns, m.lc, m.total, m.count, m.os, m.ons, m.exp, m.marks = unpack(ENTRY, v)
  m.raw, m.ids = v, nil
  return m
end

-- Expired entries (at <= now - W, a prefix of the list): their summed cost, how many, and the
-- instant of the oldest live entry (nil if none). Known from the meta without a Redis call
-- when the oldest entry is live (none), the newest has expired (all), or only the newest is
-- live among two (the oldest, costing the total less the newest's cost, unless the total has
-- saturated; a refund from a saturated total brings it below while the sum stays above: then
-- the oldest is misjudged, as SL.refund's own count is, only near 2^53); otherwise read in
-- chunks of growing size from 2: a busy log in steady traffic loses about one entry per call,
-- so the oldest two answer it, where a first chunk of 16 cost ~20 % more server CPU per call
-- (16 entries copied into Lua strings; reports/perf-redis.md).
local function l_expired(key, m, window)
  if m.count == 0 or -ahead(m.os, m.ons) < window then return 0, 0 end
  if -ahead(m.ls, m.lns) >= window then return m.total, m.count end
  if m.count == 2 and m.total < MAX_COUNT then return m.total - m.lc, 1, m.ls, m.lns end
  local sum, n, size = 0, 0, 2
  while true do
    local list = call('LRANGE', key, n, n + size - 1)
    for i = 1, #list do
      local s, ns, c = unpack(HEAD, list[i])
      if -ahead(s, ns) < window then return sum, n, s, ns end
      sum, n = sum + c, n + 1
    end
    if #list < size then return sum, n end
    size = size * 2
  end
end

-- Drop the n expired entries found by l_expired (os, ons: the new oldest), with the ids they
-- hold (nothing is left to refund of them). The newest entry's
-- meta is then stale (m.stale) until l_record or l_store writes it again (an emptied log's
-- m.exp is reset there too: l_record starts a new key's expiry, l_store deletes the key).
local function l_prune(key, m, sum, n, os, ons)
  if n == 0 then return end
  -- Either deletes the key when every entry expired; LPOP is the cheaper for one.
  if n == 1 then call('LPOP', key) else call('LTRIM', key, n, -1) end
  m.total, m.count, m.stale = m.total - sum, m.count - n, true
  if m.count > 0 then m.os, m.ons = os, ons end
end

-- Denied with `used` counted: the instant enough live entries (from index `from`) have expired.
-- Read in chunks of growing size (as l_expired), so a denial that the oldest entries answer
-- does not read a long log whole.
local function l_retry(key, from, window, limit, cost, used)
  local size = 16
  while true do
    local list = call('LRANGE', key, from, from + size - 1)
    for i = 1, #list do
      local s, ns, c = unpack(HEAD, list[i])
      used = used - c
      if used + cost <= limit then return norm(s, ns + window) end
    end
    if #list < size then return 18446744073, 709551615 end -- unreachable: Time::MAX
    from, size = from + size, size * 2
  end
end

local function sat_add(a, b)
  local v = a + b
  if v > MAX_COUNT then return MAX_COUNT end -- counts saturate at 2^53 - 1
  return v
end

-- Before the newest entry is written: the expiry to set (ms), or nil when the one set earlier
-- (m.exp) still holds (see horizon(); the spare is one window, at most SPARE_MS: a busy log
-- pays a PEXPIRE about once per spare instead of on every admission).
local function l_expiry(m, window)
  local ttl
  ttl, m.exp = horizon(ttl_ms(ahead(m.ls, m.lns) + window), m.exp, 0, window)
  return ttl
end

-- Record `cost` > 0 at now in a pruned log (spillway-core's merge rule), updating m; the new
-- newest entry carries the meta, and `id` (a tagged acquire's packed id, or '') with the ids
-- already merged in it. An empty log's key does not exist: its expiry starts afresh.
local function l_record(key, limit, window, cost, m, id)
  if m.count == 0 then m.exp = 0 end
  local merge = m.count > 0 and (not later(now_s, now_ns, 0, m.ls, m.lns, 0) or m.count >= limit)
  if merge then
    local s, ns = m.ls, m.lns
    if later(now_s, now_ns, 0, s, ns, 0) then s, ns = now_s, now_ns end
    local merged = sat_add(m.lc, cost)
    m.total, m.ls, m.lns, m.lc = sat_add(m.total, merged - m.lc), s, ns, merged
    m.ids = l_ids(m) .. id
  else
    m.total, m.count, m.ls, m.lns, m.lc = sat_add(m.total, cost), m.count + 1, now_s, now_ns, cost
    m.ids = id
  end
  if m.count == 1 then m.os, m.ons = m.ls, m.lns end
  local ttl = l_expiry(m, window)
  local entry = member(m)
  m.stale = false
  if merge then call('LSET', key, -1, entry) else call('RPUSH', key, entry) end
  if ttl then call('PEXPIRE', key, ttl) end
end

-- Write a stale meta into the newest entry (and the expiry if it must move), or drop an empty
-- log. A meta that is not stale was written with its expiry by l_record. A log whose total is
-- spent while entries remain (only when a saturated total prunes to 0) is dropped too, and m
-- then says "no key": a later write in the same call starts a new key with its own expiry.
local function l_store(key, window, m)
  if m.total <= 0 or m.count <= 0 then
    call('DEL', key)
    m.total, m.count, m.exp, m.stale, m.ids = 0, 0, 0, false, ''
    return
  end
  if m.stale then
    local ttl = l_expiry(m, window)
    m.stale = false
    call('LSET', key, -1, member(m))
    if ttl then call('PEXPIRE', key, ttl) end
  end
end

-- An admitted acquire of sliding logs only (m: the first log): it charges unless its
-- cancellation came first. Marks are fields of the first log's own marks hash (dk), and the
-- log's meta says until when (caller's time, ms) it may have some: a log without recent marks
-- is admitted without a lookup. A log whose meta does not know (UNKNOWN: no key, or created by
-- a call that did not name this hash) reads the hash once, and the meta keeps its `until`
-- (m.stale: written with the log's next write).
local function l_not_cancelled(m)
  if not dk then return true end
  if m.marks == UNKNOWN then
    local got = call('HMGET', dk, 'until', rid)
    m.marks, m.stale = 0, true
    if got[1] then m.marks = unpack('<d', got[1]) end
    return not got[2]
  end
  return ms_now >= m.marks or call('HEXISTS', dk, rid) == 0
end

-- Hot path: one sliding log, acquire (pruning first, even when it denies). The entry it charges
-- keeps its request id (see the header); a denial has nothing to look up (never a resend).
local function l_acquire(key, nums, at)
  local limit, window, cost = unpack('<ddd', nums, at)
  local m = l_load(key, HOT)
  local sum, n, os, ons = l_expired(key, m, window)
  if n > 0 then l_prune(key, m, sum, n, os, ons) end
  if m.total + cost > limit then
    if n > 0 then l_store(key, window, m) end
    return { 0, now_s, now_ns, 0, l_retry(key, 0, window, limit, cost, m.total) }
  end
  -- l_record writes the meta too (a pruned log's included); only a log whose charge was
  -- cancelled still has a stale meta (pruned, or its marks' horizon read) to store.
  if l_not_cancelled(m) then
    l_record(key, limit, window, cost, m, rid or '')
  elseif m.stale then
    l_store(key, window, m)
  end
  return allowed()
end
