//! A sliding log keeps each tagged acquire's request id in the entry it charges (state format
//! 5): a cancellation (sent after a lost reply) refunds exactly that entry, wherever it sits in
//! the log and whatever was merged into it, and leaves a mark only when no entry holds the id;
//! an acquire that lands after its mark charges nothing, whether its log existed, was absent or
//! was emptied and written again in between. Acquires and cancellations with chosen
//! ids are sent raw (the store picks its ids itself); the log they leave is then read through
//! the public limiter and compared with spillway-core's log holding the expected entries.

use crate::server::{Server, connect, runtime};
use spillway_core::limit::{Algorithm, LimitSpec, Limiter};
use spillway_core::{Duration, Time};
use spillway_redis::RedisLimiter;

const KEY: &str = "spillway:cancel:{k}";
const MARKS: &str = "spillway:cancel:{k}|marks";
const LIMIT: u64 = 10;
pub(crate) const WINDOW_S: u64 = 100;

fn spec() -> LimitSpec {
    LimitSpec {
        algorithm: Algorithm::SlidingLog,
        limit: LIMIT,
        window: Duration::from_secs(WINDOW_S),
        burst: None,
    }
}

/// A log's entries as `Raw::entries` reads them: (instant in ms, cost), oldest first.
type Entries = &'static [(u64, u64)];

/// Raw `FCALL`s of one single-log limiter on `KEY`, on the caller's time.
pub(crate) struct Raw {
    name: String,
    pub(crate) admin: redis::Connection,
    /// The request id's lifetime (`dedupe_ttl`) the calls carry.
    pub(crate) ttl_ms: u64,
    /// 1: the calls ask for Redis TIME instead of their own instant.
    pub(crate) clock: u64,
}

impl Raw {
    /// An acquire (`op` 'A') or its cancellation ('X') of `cost` at `at_ms`, tagged with the
    /// request id `id` (packed as the store packs it: 14 bytes).
    fn call(&mut self, op: char, id: u8, at_ms: u64, cost: u64) -> redis::Value {
        let layer = [LIMIT, WINDOW_S * 1_000_000_000, cost];
        self.fcall(&[KEY, MARKS], &format!("{op}l?"), at_ms, 1, &layer, id)
    }

    /// `mode` on the logs `keys` (their marks' key last), at `at_ms` with `prune_first`, the
    /// layers' numbers `layers`, tagged with request id `id`.
    pub(crate) fn fcall(
        &mut self,
        keys: &[&str],
        mode: &str,
        at_ms: u64,
        prune_first: u64,
        layers: &[u64],
        id: u8,
    ) -> redis::Value {
        let mut cmd = self.command(keys, mode, at_ms, prune_first, layers);
        cmd.arg(self.ttl_ms).arg(&rid(id)[..]);
        cmd.query(&mut self.admin).expect("a raw call")
    }

    /// As [`fcall`](Self::fcall) without a request id (no lifetime, no id: `keys` are then the
    /// layers' only), as the store sends every call but an acquire and its cancellation.
    pub(crate) fn untagged(
        &mut self,
        keys: &[&str],
        mode: &str,
        at_ms: u64,
        layers: &[u64],
    ) -> redis::Value {
        let cmd = self.command(keys, mode, at_ms, 0, layers);
        cmd.query(&mut self.admin).expect("a raw call")
    }

    /// The `FCALL` of `mode` on `keys` with its packed numbers, before any request id.
    fn command(
        &self,
        keys: &[&str],
        mode: &str,
        at_ms: u64,
        prune_first: u64,
        layers: &[u64],
    ) -> redis::Cmd {
        let header = [
            self.clock,
            at_ms / 1000,
            at_ms % 1000 * 1_000_000,
            0,
            prune_first,
            0,
        ];
        let nums: Vec<u8> = header
            .iter()
            .chain(layers)
            .flat_map(|&n| (n as f64).to_le_bytes())
            .collect();
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(&self.name)
            .arg(keys.len())
            .arg(keys)
            .arg(mode)
            .arg(nums);
        cmd
    }

    /// A cancellation: whether it refunded (the reply's fourth value).
    fn cancel(&mut self, id: u8, at_ms: u64, cost: u64) -> bool {
        match self.call('X', id, at_ms, cost) {
            redis::Value::Array(v) => v[3] == redis::Value::Int(1),
            other => panic!("a cancellation's reply: {other:?}"),
        }
    }

    /// (instant in ms, cost) of every entry of `KEY`, oldest first.
    fn entries(&mut self) -> Vec<(u64, u64)> {
        self.entries_of(KEY)
    }

    /// (instant in ms, cost) of every entry of the log `key`, oldest first (their big-endian
    /// heads).
    pub(crate) fn entries_of(&mut self, key: &str) -> Vec<(u64, u64)> {
        self.bytes_of(key).iter().map(|e| head(e)).collect()
    }

    /// Every entry of the log `key` as stored, oldest first.
    pub(crate) fn bytes_of(&mut self, key: &str) -> Vec<Vec<u8>> {
        redis::cmd("LRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .query(&mut self.admin)
            .unwrap()
    }

    /// Whether request id `id` is marked cancelled in `KEY`'s marks.
    fn marked(&mut self, id: u8) -> bool {
        self.marked_in(MARKS, id)
    }

    pub(crate) fn marked_in(&mut self, marks: &str, id: u8) -> bool {
        redis::cmd("HEXISTS")
            .arg(marks)
            .arg(&rid(id)[..])
            .query(&mut self.admin)
            .unwrap()
    }
}

/// Request id number `id`, packed as the store packs one (14 bytes).
fn rid(id: u8) -> [u8; 14] {
    let mut rid = [7u8; 14];
    rid[13] = id;
    rid
}

/// An entry's (instant in ms, cost), from its big-endian head.
fn head(e: &[u8]) -> (u64, u64) {
    let be = |b: &[u8]| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x));
    (be(&e[..5]) * 1000 + be(&e[5..9]) / 1_000_000, be(&e[9..16]))
}

/// An admission on the caller's time without room: the bare '1'.
pub(crate) fn admitted(reply: &redis::Value) -> bool {
    *reply == redis::Value::BulkString(b"1".to_vec())
}

/// spillway-core's log holding `entries` ((instant ms, cost), oldest first).
fn core_log(entries: &[(u64, u64)]) -> impl Limiter {
    let mut core = spec().build().expect("valid spec");
    for &(at, cost) in entries {
        core.commit(Time::from_nanos(at * 1_000_000), cost);
    }
    core
}

/// Instants around `entries`' expiries (just before, at), and `from_ms`.
fn around_expiries(entries: &[(u64, u64)], from_ms: u64) -> Vec<u64> {
    let mut at = vec![from_ms];
    for &(t, _) in entries {
        at.extend([t + WINDOW_S * 1000 - 1, t + WINDOW_S * 1000]);
    }
    at
}

/// The Redis log's checks of every cost around the expiries equal the core's with `entries`
/// (so the meta's total and oldest instant must be right); checks change nothing.
async fn checks_as_core(redis: &RedisLimiter, entries: &[(u64, u64)], from_ms: u64) {
    let core = core_log(entries);
    for at in around_expiries(entries, from_ms) {
        let now = Time::from_nanos(at * 1_000_000);
        for cost in 1..=LIMIT {
            let expected = core.check(now, cost).unwrap();
            let got = redis.check("k", now, cost).await.unwrap().decision;
            assert_eq!(got, expected, "check of {cost} at {at} ms, log {entries:?}");
        }
    }
}

/// Then acquires through the expiries, as the core's.
async fn acquires_as_core(redis: &RedisLimiter, entries: &[(u64, u64)], from_ms: u64) {
    let mut core = core_log(entries);
    for at in around_expiries(entries, from_ms) {
        let now = Time::from_nanos(at * 1_000_000);
        let expected = core.acquire(now, 2).unwrap();
        let got = redis.acquire("k", now, 2).await.unwrap().decision;
        assert_eq!(got, expected, "acquire at {at} ms, log {entries:?}");
    }
}

/// A server (kept alive by the caller), a runtime, the public limiter on `KEY` and a raw
/// caller (connecting loads the library); `None` when Redis is absent (the test is skipped).
pub(crate) fn setup() -> Option<(Server, tokio::runtime::Runtime, RedisLimiter, Raw)> {
    let server = Server::start(&[])?;
    let rt = runtime();
    let store = rt.block_on(connect(server.config()));
    let redis = RedisLimiter::new(&store, "cancel", spec()).unwrap();
    let raw = Raw {
        name: server.function_name(),
        admin: server.admin(),
        ttl_ms: 60_000,
        clock: 0,
    };
    Some((server, rt, redis, raw))
}

#[test]
fn a_cancellation_refunds_exactly_its_own_entry() {
    let Some((_server, rt, redis, mut raw)) = setup() else {
        return;
    };
    rt.block_on(async {
        // id: (instant ms, cost); ids 2 and 3 land at one instant, merged into one entry.
        for (id, at, cost) in [(1, 1000, 1), (2, 2000, 2), (3, 2000, 1), (4, 3000, 1)] {
            assert!(admitted(&raw.call('A', id, at, cost)), "id {id}");
        }
        assert!(admitted(&raw.call('A', 5, 4000, 1)));
        let log = raw.entries();
        assert_eq!(log, [(1000, 1), (2000, 3), (3000, 1), (4000, 1)]);
        // Each step: the id cancelled (with its acquire's `now`, as the store sends it), then
        // the log left. The old refund took the newest entries instead, whichever acquire they
        // belonged to.
        let steps: [(u8, u64, Entries); 4] = [
            (3, 2000, &[(1000, 1), (2000, 2), (3000, 1), (4000, 1)]), // part of a merged entry
            (2, 2000, &[(1000, 1), (3000, 1), (4000, 1)]),            // a middle entry
            (1, 1000, &[(3000, 1), (4000, 1)]),                       // the oldest
            (5, 4000, &[(3000, 1)]),                                  // the newest
        ];
        for (id, at, left) in steps {
            assert!(raw.cancel(id, at, 1 + u64::from(id == 2)), "id {id}");
            assert_eq!(raw.entries(), left, "after cancelling id {id}");
            assert!(!raw.marked(id), "no mark for id {id}");
            checks_as_core(&redis, left, 5000).await;
        }
        // Once refunded, the id is in no entry: cancelling again refunds nothing, marks it.
        assert!(!raw.cancel(5, 5000, 1));
        assert!(raw.marked(5));
        assert_eq!(raw.entries(), [(3000, 1)]);
        acquires_as_core(&redis, &[(3000, 1)], 5000).await;
    });
}

/// A cancellation that overtakes its acquire (same `now`: the store sends a copy of the
/// acquire) marks the id; the acquire, landing later, is admitted (its reply is lost anyway)
/// and charges nothing, however the log changed in between.
#[test]
fn an_acquire_landing_after_its_cancellation_charges_nothing() {
    let Some((_server, rt, redis, mut raw)) = setup() else {
        return;
    };
    rt.block_on(async {
        // The log exists: the mark is told to its meta, so the acquire looks it up.
        assert!(admitted(&raw.call('A', 1, 1000, 1)));
        assert!(!raw.cancel(2, 1500, 3));
        assert!(raw.marked(2));
        let ttl: i64 = redis::cmd("PTTL").arg(MARKS).query(&mut raw.admin).unwrap();
        assert!(ttl > 0 && ttl <= 60_000, "the marks expire: {ttl}");
        assert!(admitted(&raw.call('A', 3, 1600, 2)));
        assert!(admitted(&raw.call('A', 2, 1500, 3)));
        assert_eq!(raw.entries(), [(1000, 1), (1600, 2)]);
        // The log emptied (its last entries refunded: the key is deleted) then written again by
        // another acquire: that one reads the marks' `until` into the new log.
        assert!(!raw.cancel(4, 1700, 1));
        assert!(raw.cancel(1, 1000, 1) && raw.cancel(3, 1600, 2));
        assert_eq!(raw.entries(), []);
        assert!(admitted(&raw.call('A', 5, 1800, 1)));
        assert!(admitted(&raw.call('A', 4, 1700, 1)));
        assert_eq!(raw.entries(), [(1800, 1)]);
        // No log at all when the cancellation comes.
        assert!(raw.cancel(5, 1800, 1));
        assert!(!raw.cancel(6, 1900, 2));
        assert!(admitted(&raw.call('A', 6, 1900, 2)));
        assert_eq!(raw.entries(), []);
        // No log, and the next write is a commit (an apply, untagged): the log it creates does
        // not know its marks, so the acquire reads them.
        assert!(!raw.cancel(7, 2000, 1));
        let commit = Time::from_nanos(2_100_000_000);
        redis.commit("k", commit, 1).await.unwrap();
        assert!(admitted(&raw.call('A', 7, 2000, 1)));
        assert_eq!(raw.entries(), [(2100, 1)]);
        // Another id is charged as usual.
        assert!(admitted(&raw.call('A', 8, 2500, 2)));
        let left = [(2100, 1), (2500, 2)];
        assert_eq!(raw.entries(), left);
        checks_as_core(&redis, &left, 3000).await;
        acquires_as_core(&redis, &left, 3000).await;
    });
}

/// With exact accounting (the default) a log's admission writes no key but the log itself.
#[test]
fn an_exact_log_admission_creates_no_record_key() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        assert!(store.config().exact_accounting);
        let redis = RedisLimiter::new(&store, "norecord", spec()).unwrap();
        let before = server.dbsize();
        for i in 0..5 {
            let now = Time::from_secs(1 + i);
            assert!(
                redis
                    .acquire("k", now, 1)
                    .await
                    .unwrap()
                    .decision
                    .is_allowed()
            );
        }
        assert_eq!(server.dbsize(), before + 1, "the log's key alone");
    });
}

/// Layers of logs only (the general path): each log keeps the id in the entry it charged, and a
/// cancellation refunds it from every log that still holds it (a shorter window may have
/// dropped it already: nothing is left to refund there).
#[test]
fn a_layered_cancellation_refunds_each_log_that_holds_the_id() {
    let Some((_server, _rt, _redis, mut raw)) = setup() else {
        return;
    };
    let (long, short) = ("spillway:{lay}:long:1", "spillway:{lay}:short:1");
    let marks = "spillway:{lay}:long:1|marks";
    let call = |raw: &mut Raw, op: char, id: u8, at_ms: u64, cost: u64| {
        let layers = [10, WINDOW_S * 1_000_000_000, cost, 10, 1_000_000_000, cost];
        let mode = format!("{op}l?l?");
        raw.fcall(&[long, short, marks], &mode, at_ms, 0, &layers, id)
    };
    for (id, at, cost) in [(1, 1000, 1), (2, 1500, 2), (3, 3000, 1)] {
        assert!(admitted(&call(&mut raw, 'A', id, at, cost)), "id {id}");
    }
    let refunded =
        |v: redis::Value| matches!(&v, redis::Value::Array(a) if a[3] == redis::Value::Int(1));
    // Id 1 is in both logs; id 2 only in the long one (the acquire at 3 s pruned the short).
    assert!(refunded(call(&mut raw, 'X', 1, 1000, 1)));
    assert!(refunded(call(&mut raw, 'X', 2, 1500, 2)));
    assert_eq!(raw.entries_of(long), [(3000, 1)]);
    assert_eq!(raw.entries_of(short), [(3000, 1)]);
    assert!(!raw.marked_in(marks, 1) && !raw.marked_in(marks, 2));
    // Id 3 is in both; cancelled again it is in neither: refunded nothing, marked.
    assert!(refunded(call(&mut raw, 'X', 3, 3000, 1)));
    assert!(!refunded(call(&mut raw, 'X', 3, 3000, 1)));
    assert!(raw.marked_in(marks, 3));
    assert_eq!(raw.entries_of(long), []);
}
