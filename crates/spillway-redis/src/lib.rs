//! # spillway-redis
//!
//! spillway-core's limiters with their state in Redis, so that N gateway instances share one
//! limit: [`RedisLimiter`] (a token bucket in GCRA form, an exact sliding-window log, or the
//! two-window sliding counter, one state per caller key; reserve → settle too) and
//! [`RedisLayered`] (named layers, check-then-commit, reserve → settle). Decisions and
//! `retry_at` are the core's, to the nanosecond: the differential tests feed the same requests
//! to both. [`RedisBudget`] counts the spend of the core's budget caps the same way (reserve an
//! estimate on every cap or none, settle the actual, per calendar period) while the core's
//! `SpendGate` decides; its own script, `lua/budget.lua`, is tested against an in-Rust model.
//!
//! ## How a call works
//! One Lua library holds every algorithm, loaded once per server with `FUNCTION LOAD` (Redis
//! 7.0 or later). A call is one `FCALL` (the library is loaded again when Redis has lost it, e.g.
//! after a restart without persistence or a `FUNCTION FLUSH`) carrying every layer's keys and
//! parameters, so a layered request is checked and charged atomically: all layers admit and all
//! are charged, or nothing is. Batches ([`RedisLimiter::acquire_many`]) go in one pipeline;
//! concurrent calls share one multiplexed connection.
//!
//! Server CPU is the limit once round trips are amortised, so the script is shaped for it
//! (`reports/perf-redis.md` has the figures): numbers travel and are stored as packed doubles
//! (`struct.pack`/`unpack`, no decimal parsing or formatting), the helper functions are built
//! once when the library loads (an `EVAL` script re-creates them on every call), a single token
//! bucket or sliding log acquire takes a hot path that builds no tables, an admission on the
//! caller's time is answered `1` alone (no reply table), a log is a list in time order (append
//! and read the newest in O(1)) whose newest entry carries its meta (total, entry count, oldest
//! entry), so one `LINDEX` spares range queries when nothing expired and an admission writes
//! entry and meta with one `RPUSH`.
//!
//! ## Exactness on doubles
//! Lua numbers are doubles, exact for integers below 2^53. The script therefore never holds a
//! large integer:
//! - instants are `(seconds, nanoseconds)` pairs (any `u64` ns fits: seconds < 2^35);
//!   the gap between two is exact up to 2^52 ns (two of the longest windows, what the sliding
//!   counter tells apart) and only beyond that read as "further than any window";
//! - a GCRA theoretical arrival time is `(seconds, ns, frac)`, `frac/rate` being the part of a
//!   nanosecond spillway-core keeps by scaling time by the rate; the durations added
//!   (`cost · period / rate`, as a triple) are computed in Rust on `u128`;
//! - windows are at most 2^51 ns (~26 days) and counts, limits and rates at most 2^53 − 1
//!   (2^52 for rates), checked when a limiter is built ([`RedisLimitError::OutOfRange`]);
//! - the sliding counter's `prev·(W−e) ≤ room·W` is compared on base-2^18 limbs;
//! - the divisions a denial needs are done in Rust on `u128` from the state snapshot the
//!   script returns, with the core's formulas;
//! - numbers are exchanged and stored as packed doubles, exact below 2^53, never through
//!   `tostring` (which keeps only 14 digits); log members start with a big-endian instant.
//!
//! Where the core saturates at `u64::MAX` (debt from settling under-estimates), counts here
//! saturate at 2^53 − 1, and a GCRA debt further than 2^52 ns (~52 days) ahead is kept for only
//! that long: the only places the two can differ, far outside real traffic.
//!
//! ## Memory
//! Every key carries an expiry no earlier than the time left until its state is
//! indistinguishable from a fresh one (GCRA: the TAT; log: newest entry + window; counter: the
//! end of the window after the last count) plus [`RedisConfig::expiry_grace`], so idle keys
//! vanish. A counter sets exactly that on every write. Token buckets and sliding logs set it
//! with room to spare (the bucket's refill time, or one window, at most 10 s, and a grace) and
//! move it only when that runs out: a busy key's writes mostly keep their expiry (`SET …
//! KEEPTTL`, no `PEXPIRE`; at most one move per spare), and an idle key lives at most that
//! spare and a grace longer. The horizon is kept in the caller's time in the state itself,
//! with a grace of margin for callers whose clocks lag (a caller whose clock stands still, as
//! `WallClock` after a step back, never moves it: its key expires need + spare + two graces of
//! real time after it was set, when that caller lags by more than the grace the state is kept
//! for). A sliding log keeps at most `limit` entries (the core's merge rule), as 54-byte
//! entries of one list, oldest first (its newest entry also holds the log's meta), plus 14
//! bytes per request id an entry holds (exact accounting: one per tagged acquire charged in it,
//! kept until the entry leaves the window, is emptied, or the acquire's cancellation takes it).
//! So a log holds one id per such admission still in it: at most `limit` while every
//! admission keeps at least 1 of its cost, but not with settles: a settle's refund
//! ([`RedisLayered::settle`], `estimated − used`) takes cost from the entry charged at its
//! acquire's instant as spillway-core's does (nothing once that instant left the window), and
//! drops the ids only of an entry it empties (it does not know which ids are its own: the
//! reservation carries its instant, not its id), so acquires merged into one entry and each
//! refunded by its settle add an id apiece while the cost stays (`tests/redis/ids.rs`). Acquires
//! merged into one entry (at one instant, or a caller whose clock lags) rewrite its ids with
//! each merge (`LSET`): 14 bytes per id it holds, per admission, so quadratic in such a burst,
//! and with refunded settles not bounded by `limit` but by the admissions merged before the
//! entry leaves the window. Not capped: dropping an id would leave its cancellation a charge to
//! miss (a phantom charge), and splitting the entry would change when the log counts as full,
//! which the core's merge rule decides. A log's marks hash holds its live marks (a field per
//! cancellation that found no entry, each expiring `dedupe_ttl` after it was set) and, in
//! expectation, about a third more: each new mark drops the expired ones of 4 drawn at random.
//!
//! ## Keys
//! Single limiters: `<prefix>:<name>:{<key>}` (tagged by the caller's key, so keys spread over
//! a cluster). Layered: `<prefix>:{<name>}:<layer>:<scope id>` (one tag, so one call touches
//! one slot). Unless [`RedisConfig::exact_accounting`] is off, an acquire adds its request-id
//! record `<first key>|rid|<id>` (below), or when every layer is a sliding log the hash of the
//! log's cancellation marks `<first key>|marks` (written only by a cancellation). The state
//! values are packed doubles, and a log is a list whose newest entry holds its meta (state
//! format 5, 2026-12-04 night: entries end with a format byte and the request ids they hold;
//! format 4 that evening had neither, format 3 was a sorted set of the same entries, earlier
//! ones decimal members and a `:total` key): keys written by an older version are refused with
//! a script error until they expire (and an older version refuses the new entries), so upgrade
//! with a new prefix (or a flush); an older version's `:total` keys are left to expire. A token
//! bucket's value gained a fourth double (the expiry's horizon) the same evening; it is read
//! both ways by builds of that day. Key parts with `{`, `}`, `:` or control characters are
//! refused with a [`KeyError`] ([`validate_key_part`]).
//!
//! ## Time and failures
//! [`TimeSource`] and [`FailurePolicy`] document the trade-offs. Every answer says who gave it
//! ([`Verdict::served_by`]); [`RedisStore::stats`] counts faults, undone charges and lost data.
//!
//! ## Accounting under faults
//! - **No phantom charges.** Every acquire carries a request id (unless
//!   [`RedisConfig::exact_accounting`] is off, below); it is sent once (again only when the
//!   function was missing, i.e. it did not run: no command is retried). When a reply is lost
//!   (timeout, dropped connection) the failure policy has answered, so Redis must not keep the
//!   charge: the store queues a *cancellation* (same id, same `now`) and sends it before its
//!   next call (in chunks of 512, each reply settling its own), or from a background task once
//!   Redis answers again if no call comes (a quiet replica would otherwise leave the charge to
//!   starve the others); an acquire surely never sent (a refused connection, an error reply)
//!   charged nothing and queues none. The script refunds the
//!   acquire if it had been charged, or else marks the id so that an acquire still in flight
//!   charges nothing when it lands. Exact as long as the
//!   cancellation reaches Redis within [`RedisConfig::dedupe_ttl`] (10 s); one that Redis still
//!   refuses after that (an error reply such as OOM or NOPERM, not an outage) is dropped and
//!   counted in [`StoreStats::cancels_dropped`]. Where the id is kept:
//!   - *token buckets, counters, mixed layers*: a record `SET <first key>|rid|<id> <instant>
//!     NX PX dedupe_ttl` created by each admission (which charges only if it is new), ~3 µs of
//!     server CPU, the largest single cost of such an acquire; the cancellation refunds every
//!     layer out of the charge made at the record's instant (a log's entry of that instant, a
//!     counter's count of its window, as spillway-core's refund) if the record said charged;
//!   - *sliding logs only*: the entry the admission charged (state format 5), so no key is
//!     created; the cancellation finds the entry (newest first, read in chunks, on the caller's
//!     time only down to the acquire's `now`: its entry is never older) in each log and
//!     refunds exactly it, even from the middle of the log or from an entry merged with other
//!     acquires. An id in no log (denied, already out of the window, or not landed yet) is
//!     marked in the first log's hash `<first key>|marks` (lifetime `dedupe_ttl` from the latest
//!     mark; a mark never shortens it), whose `until` (the mark's `now` + `dedupe_ttl`) is
//!     copied into the log's meta: an admission looks the hash up only while its `now` is
//!     before that. A missing log, or one whose creator did not read its hash (as a later
//!     layer, a mixed call, an apply, a store with exact accounting off), says "unknown": the
//!     first admission that has it as first log reads `until` once into it. The overtaken
//!     acquire carries its cancellation's `now`, so it always looks.
//! - **Settled where charged.** An admission the failure policy answered charged only the
//!   local share (below), and its acquire, had it landed in Redis, is refunded there by its
//!   cancellation (with exact accounting off it may stay charged there, at most once):
//!   settling it in Redis would refund `estimate − actual` a second time (room nobody charged)
//!   or commit a difference on top of nothing. So [`RedisLayered::reserve`] and
//!   [`RedisLimiter::reserve`] return a [`RedisReservation`] that remembers who admitted it
//!   (and the single limiter's, its key), the only thing their `settle` takes: a Redis
//!   admission settles in Redis, a policy admission on the local share only
//!   (`tests/redis/settle_outage.rs`).
//! - **No refund to a share that never charged.** While Redis is unavailable, a refund (or a
//!   settle's refund part) is dropped, not given to the local share: that share never held a
//!   charge Redis admitted, and room given back there would let an outage admit beyond its
//!   share (every request in flight when Redis went away refunds `estimate − actual`). Redis
//!   keeps the estimate, over-charged on the safe side; a commit still charges the local share.
//!   (`tests/redis/outage_share.rs`.)
//! - **Opt-out:** [`RedisConfig::exact_accounting`] `= false` sends acquires without a record and
//!   queues no cancellation: the guarantee of a plain script such as go-redis `redis_rate`. A
//!   lost reply's acquire may then stay charged (at most once: the limit is never exceeded, and
//!   each lost reply may cost one admission of that window).
//! - **Bounded outages.** Fail-open and local fallback answer from a local limiter at the
//!   replica's share (`limit / replicas`, at least 1), so an outage admits at most about one
//!   more `limit` per key and window across the fleet; fail-closed admits nothing.
//! - **Lost data detected.** A state epoch key (`<prefix>:epoch`) is checked at connect and
//!   after every fault; a restart without persistence (or a flush) shows as a missing or
//!   changed epoch and is counted in [`StoreStats::lost_epochs`]. Bound: the windows live at the
//!   loss start empty, so at most one more `limit` per key is admitted in them; later windows
//!   are exact. With AOF (`appendfsync always`) nothing is lost. [`RedisBudget`] calls check
//!   the epoch too; a lost data set there resets the periods' spend (one more cap per live
//!   period): a shared budget needs AOF and `maxmemory-policy noeviction` (its spend keys
//!   carry TTLs, so `volatile-*` policies evict them first).
//! - The fault suite (`tests/redis/faults.rs`: SIGKILL, restart with and without AOF,
//!   a Redis stalled by `CLIENT PAUSE`, a slow link) asserts these bounds by counting
//!   admissions under every policy, and the opt-out's weaker bound.

#![forbid(unsafe_code)]

mod budget;
mod config;
mod epoch;
mod error;
mod function;
mod key;
mod layered;
mod limiter;
mod pending;
mod reservation;
mod shape;
mod stats;
mod store;
mod verdict;
mod wire;

pub use budget::{MAX_AMOUNT_NANO_USD, RedisBudget};
pub use config::{FailurePolicy, MAX_DEDUPE_TTL_MS, RedisConfig, TimeSource};
pub use error::{KeyError, RedisLimitError};
pub use key::{MAX_KEY_PART, validate_key_part};
pub use layered::{RedisLayered, Settled};
pub use limiter::{RedisLimiter, Request};
pub use reservation::{KeyReservation, RedisReservation};
pub use shape::{MAX_COUNT, MAX_RATE, MAX_WINDOW_NS};
pub use stats::StoreStats;
pub use store::RedisStore;
pub use verdict::{ServedBy, Verdict};
