//! The shared budget's script against an in-Rust model of what it must count: random
//! reserve / settle / release sequences (retries of the same request id included) across hour
//! and day boundaries must give the same holds and totals; plus the fleet bound: concurrent
//! reservations never commit more than a cap.

use crate::server::{Server, connect, runtime};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use spillway_core::Time;
use spillway_core::budget::{Account, CapId, Period, SharedAccount};
use spillway_core::engine::SharedTotals;
use spillway_redis::{RedisBudget, RedisStore};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

pub const HOUR_NS: u64 = 3_600_000_000_000;

static NEXT_NAME: AtomicU64 = AtomicU64::new(0);

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", NEXT_NAME.fetch_add(1, Ordering::Relaxed))
}

/// Now, from the test's wall clock: the keys' expiry is Redis' clock, so the injected times
/// start at the real one and only move forward.
pub fn wall_now() -> Time {
    use spillway_core::clock::Clock;
    spillway_core::clock::WallClock::new().now()
}

/// A global daily cap and a per-user hourly one; a request of user `u` charges both.
pub fn accounts(user: u64, day_limit: u64, hour_limit: u64) -> Vec<SharedAccount> {
    vec![
        SharedAccount {
            cap: CapId(0),
            id: 0,
            period: Period::Day,
            limit_nano_usd: day_limit,
        },
        SharedAccount {
            cap: CapId(1),
            id: user,
            period: Period::Hour,
            limit_nano_usd: hour_limit,
        },
    ]
}

pub fn caps() -> Vec<String> {
    vec!["global daily".into(), "key:prod/chat/k".into()]
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Reserve(u64),
    Settle(u64),
    Release,
}

/// The default lease of a hold, in ms.
const LEASE_MS: u64 = 3_600_000;

/// What the script must count, written the obvious way.
#[derive(Default)]
struct Model {
    /// (cap, id, period index) → spent.
    spent: HashMap<(usize, u64, u64), u64>,
    /// (cap, id) → request → (held, deadline in ms).
    holds: HashMap<(usize, u64), BTreeMap<usize, (u64, u64)>>,
    /// request → (held, finished).
    records: HashMap<usize, (u64, bool)>,
}

fn ms(now: Time) -> u64 {
    now.as_nanos() / 1_000_000
}

impl Model {
    /// Holds whose deadline has come stop counting.
    fn purge(&mut self, now: Time, accounts: &[SharedAccount]) {
        for a in accounts {
            let holds = self.holds.entry((a.cap.0, a.id)).or_default();
            holds.retain(|_, &mut (_, deadline)| deadline > ms(now));
        }
    }

    fn totals(&self, now: Time, accounts: &[SharedAccount], held: u64) -> Vec<Account> {
        accounts
            .iter()
            .map(|a| {
                let window = a.period.window(now.as_nanos()).id;
                let holds = self.holds.get(&(a.cap.0, a.id));
                Account {
                    spent_nano_usd: self
                        .spent
                        .get(&(a.cap.0, a.id, window))
                        .copied()
                        .unwrap_or(0),
                    reserved_nano_usd: holds
                        .map_or(0, |h| h.values().map(|&(amount, _)| amount).sum::<u64>())
                        .saturating_sub(held),
                }
            })
            .collect()
    }

    fn reserve(&mut self, now: Time, rid: usize, want: u64, acc: &[SharedAccount]) -> SharedTotals {
        self.purge(now, acc);
        let (held, done) = self.records.get(&rid).copied().unwrap_or((0, false));
        let mut held = if done { 0 } else { held };
        let live = acc
            .iter()
            .all(|a| self.holds[&(a.cap.0, a.id)].contains_key(&rid));
        if held > 0 && !live {
            self.drop_holds(rid, acc);
            held = 0;
        }
        let totals = self.totals(now, acc, held);
        let fits = !done
            && acc
                .iter()
                .zip(&totals)
                .all(|(a, t)| t.spent_nano_usd + t.reserved_nano_usd + want <= a.limit_nano_usd);
        if fits && (want > 0 || held > 0) {
            self.drop_holds(rid, acc);
            if want > 0 {
                for a in acc {
                    let hold = (want, ms(now) + LEASE_MS);
                    self.holds
                        .entry((a.cap.0, a.id))
                        .or_default()
                        .insert(rid, hold);
                }
            }
            self.records.insert(rid, (want, false));
            held = want;
        }
        SharedTotals {
            accounts: acc.iter().copied().zip(totals).collect(),
            held_nano_usd: held,
        }
    }

    fn drop_holds(&mut self, rid: usize, acc: &[SharedAccount]) {
        for a in acc {
            self.holds.entry((a.cap.0, a.id)).or_default().remove(&rid);
        }
    }

    fn finish(&mut self, now: Time, rid: usize, actual: u64, acc: &[SharedAccount]) {
        self.purge(now, acc);
        let (_, done) = self.records.get(&rid).copied().unwrap_or((0, false));
        if done {
            return;
        }
        self.drop_holds(rid, acc);
        for a in acc {
            let window = a.period.window(now.as_nanos()).id;
            *self.spent.entry((a.cap.0, a.id, window)).or_default() += actual;
        }
        self.records.insert(rid, (0, true));
    }
}

fn ops() -> impl Strategy<Value = Vec<(Op, usize, u64, u64)>> {
    let op = prop_oneof![
        5 => (0u64..400).prop_map(Op::Reserve),
        3 => (0u64..500).prop_map(Op::Settle),
        1 => Just(Op::Release),
    ];
    // (op, request 0..6, user 1..3, time step: often none, sometimes past an hour or a day,
    // or to a hold's last ms)
    let step = prop_oneof![
        4 => Just(0u64),
        3 => 0u64..HOUR_NS / 4,
        1 => Just(HOUR_NS),
        1 => Just(HOUR_NS - 1_000_000), // a hold's last ms (the lease is an hour)
        1 => Just(24 * HOUR_NS),
    ];
    proptest::collection::vec((op, 0usize..6, 1u64..3, step), 1..50)
}

async fn case(store: &RedisStore, ops: &[(Op, usize, u64, u64)]) -> Result<(), TestCaseError> {
    let budget = RedisBudget::new(store, &unique("budget-diff"), &caps()).expect("valid");
    let rids: Vec<String> = (0..6).map(|n| budget.request_id(n)).collect();
    let mut model = Model::default();
    // A request charges the accounts of the user it first named (as a ticket does).
    let mut users: HashMap<usize, u64> = HashMap::new();
    let mut now = wall_now();
    for &(op, r, user, step) in ops {
        now = Time::from_nanos(now.as_nanos() + step);
        let acc = accounts(*users.entry(r).or_insert(user), 1_000, 600);
        match op {
            Op::Reserve(want) => {
                let got = budget.reserve(now, &rids[r], want, &acc).await;
                let got = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(got, model.reserve(now, r, want, &acc), "{:?} of {}", op, r);
            }
            Op::Settle(actual) => {
                budget
                    .settle(now, &rids[r], actual, &acc)
                    .await
                    .expect("settles");
                model.finish(now, r, actual, &acc);
            }
            Op::Release => {
                budget.release(now, &rids[r], &acc).await.expect("releases");
                model.finish(now, r, 0, &acc);
            }
        }
    }
    // Every account's totals at the end, read by a request that holds nothing.
    for user in 1..3 {
        let acc = accounts(user, 1_000, 600);
        let read = budget.reserve(now, "reader", 0, &acc).await;
        let read = read.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read, model.reserve(now, usize::MAX, 0, &acc));
    }
    Ok(())
}

#[test]
fn the_script_counts_what_the_model_counts() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    let store = rt.block_on(connect(server.config()));
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/differential-budget.txt",
        ))),
        ..Config::default()
    });
    runner
        .run(&ops(), |ops| rt.block_on(case(&store, &ops)))
        .unwrap();
}

#[test]
fn a_retried_reserve_or_settle_books_once_and_a_late_reserve_holds_nothing() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        let budget = RedisBudget::new(&store, "retries", &caps()).expect("valid");
        let acc = accounts(1, 1_000, 1_000);
        let now = wall_now();
        let rid = budget.request_id(0);
        for _ in 0..3 {
            let held = budget.reserve(now, &rid, 300, &acc).await.expect("reserve");
            assert_eq!(held.held_nano_usd, 300);
            assert_eq!(
                held.accounts[0].1,
                Account::default(),
                "its own hold excluded"
            );
        }
        let other = budget.reserve(now, "other", 0, &acc).await.expect("read");
        assert_eq!(other.accounts[0].1.reserved_nano_usd, 300, "held once");
        for _ in 0..2 {
            budget.settle(now, &rid, 450, &acc).await.expect("settle");
        }
        let after = budget.reserve(now, "other", 0, &acc).await.expect("read");
        assert_eq!(
            after.accounts[0].1,
            Account {
                spent_nano_usd: 450,
                reserved_nano_usd: 0
            },
            "booked once, above the estimate"
        );
        let late = budget.reserve(now, &rid, 300, &acc).await.expect("late");
        assert_eq!(late.held_nano_usd, 0, "a finished request holds nothing");
        // The next day starts at zero spend; the hourly account too.
        let tomorrow = Time::from_nanos(now.as_nanos() + 24 * HOUR_NS);
        let next = budget
            .reserve(tomorrow, "other", 0, &acc)
            .await
            .expect("read");
        assert!(next.accounts.iter().all(|(_, t)| *t == Account::default()));
    });
}

#[test]
fn concurrent_reservations_never_commit_more_than_the_cap() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        // Four "replicas" (budgets on one store) reserve 70 each against a cap of 1,000.
        let replicas: Vec<std::sync::Arc<RedisBudget>> = (0..4)
            .map(|_| std::sync::Arc::new(RedisBudget::new(&store, "fleet", &caps()).expect("ok")))
            .collect();
        let now = wall_now();
        let mut tasks = Vec::new();
        for (i, budget) in replicas.iter().enumerate() {
            let budget = budget.clone();
            tasks.push(tokio::spawn(async move {
                let acc = accounts(i as u64 + 1, 1_000, 1_000_000);
                let mut admitted = 0u64;
                for n in 0..20 {
                    let rid = budget.request_id(n);
                    let t = budget.reserve(now, &rid, 70, &acc).await.expect("reserve");
                    if t.held_nano_usd == 70 {
                        admitted += 1;
                        budget.settle(now, &rid, 70, &acc).await.expect("settle");
                    }
                }
                admitted
            }));
        }
        let mut admitted = 0;
        for t in tasks {
            admitted += t.await.expect("task");
        }
        assert_eq!(admitted, 1_000 / 70, "exactly what fits the global cap");
        let read = replicas[0]
            .reserve(now, "reader", 0, &accounts(1, 1_000, 1_000_000))
            .await
            .expect("read");
        assert_eq!(read.accounts[0].1.spent_nano_usd, 70 * (1_000 / 70));
    });
}

#[test]
fn an_unreachable_store_is_an_error_for_the_caller_to_fail_closed_on() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        let budget = RedisBudget::new(&store, "outage", &caps()).expect("valid");
        let acc = accounts(1, 1_000, 1_000);
        let now = wall_now();
        let rid = budget.request_id(0);
        assert!(budget.reserve(now, &rid, 10, &acc).await.is_ok());
        server.kill();
        let err = budget.reserve(now, &rid, 10, &acc).await;
        assert!(
            matches!(
                err,
                Err(spillway_redis::RedisLimitError::Unreachable { .. })
            ),
            "{err:?}"
        );
    });
}

#[test]
fn spend_expires_after_its_period_and_a_finished_record_after_the_retry_window() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    let now = wall_now();
    rt.block_on(async {
        let store = connect(server.config()).await;
        let budget = RedisBudget::new(&store, "ttl", &caps()).expect("valid");
        let acc = accounts(1, 1_000, 1_000);
        let rid = budget.request_id(0);
        budget.reserve(now, &rid, 100, &acc).await.expect("reserve");
        budget.settle(now, &rid, 80, &acc).await.expect("settle");
    });
    let mut admin = server.admin();
    let pttl = |admin: &mut redis::Connection, pattern: &str| -> Vec<i64> {
        let keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(admin).expect("KEYS");
        keys.iter()
            .map(|k| redis::cmd("PTTL").arg(k).query(admin).expect("PTTL"))
            .collect()
    };
    // Each spend key lives until its period's end plus the grace: the daily one a tenth of a
    // day (8,640 s), the hourly one the test server's 3,600 s (more than its tenth of an hour).
    let left_ms = |p: Period| (p.window(now.as_nanos()).end_unix_ns - now.as_nanos()) / 1_000_000;
    for (pattern, period, grace_ms) in [
        ("*global daily*|s|*", Period::Day, 8_640_000),
        ("*key_prod*|s|*", Period::Hour, 3_600_000),
    ] {
        let spend = pttl(&mut admin, pattern);
        assert_eq!(spend.len(), 1, "{pattern}");
        let ttl = u64::try_from(spend[0]).expect("expires");
        let end = left_ms(period) + grace_ms;
        assert!((left_ms(period)..=end + 1_000).contains(&ttl), "{ttl} ms");
    }
    let records = pttl(&mut admin, "*budget|q|*");
    assert_eq!(records.len(), 1);
    assert!((1..=10_000).contains(&records[0]), "{records:?}");
}

#[test]
fn under_estimates_overshoot_the_cap_by_at_most_those_in_flight() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        // Four replicas, one request in flight each, estimating 70 and costing 100: once the
        // cap fills only those in flight can add their 30 of under-estimate.
        let now = wall_now();
        let mut tasks = Vec::new();
        for i in 0..4u64 {
            let budget = RedisBudget::new(&store, "overshoot", &caps()).expect("ok");
            tasks.push(tokio::spawn(async move {
                let acc = accounts(i + 1, 1_000, 1_000_000);
                for n in 0..30 {
                    let rid = budget.request_id(n);
                    let t = budget.reserve(now, &rid, 70, &acc).await.expect("reserve");
                    if t.held_nano_usd == 70 {
                        budget.settle(now, &rid, 100, &acc).await.expect("settle");
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        let budget = RedisBudget::new(&store, "overshoot", &caps()).expect("ok");
        let read = budget
            .reserve(now, "reader", 0, &accounts(1, 1_000, 1_000_000))
            .await
            .expect("read");
        let spent = read.accounts[0].1.spent_nano_usd;
        // Admitted only while spent + reserved + 70 ≤ 1,000: at least 931 booked before the
        // last admission could fail, at most 4 × 30 over the cap.
        assert!((931..=1_000 + 4 * 30).contains(&spent), "spent {spent}");
        assert_eq!(
            read.accounts[0].1.reserved_nano_usd, 0,
            "every hold released"
        );
    });
}
