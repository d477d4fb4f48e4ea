//! The shared budget under the faults a fleet meets: leaked holds on a busy account (they
//! lapse at their own deadline), replicas whose clocks lag Redis', and a data set lost in a
//! restart (detected on budget calls).

use crate::budget::{HOUR_NS, accounts, caps, wall_now};
use crate::server::{Server, connect, runtime};
use spillway_core::Time;
use spillway_core::budget::{Account, SharedAccount};
use spillway_redis::RedisBudget;

const MS: u64 = 1_000_000;

fn at(now: Time, plus_ns: u64) -> Time {
    Time::from_nanos(now.as_nanos() + plus_ns)
}

/// Run `test` on the budget `name` of a fresh server, for user 1 under a daily cap of 1,000
/// (skipped without redis-server).
fn with_budget(name: &str, test: impl AsyncFnOnce(&RedisBudget, &[SharedAccount], Time)) {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = connect(server.config()).await;
        let budget = RedisBudget::new(&store, name, &caps()).expect("valid");
        test(&budget, &accounts(1, 1_000, 1_000_000), wall_now()).await;
    });
}

#[test]
fn a_leaked_hold_lapses_at_its_deadline_on_a_busy_account() {
    with_budget("leak", async |budget, acc, now| {
        // Held 600 and never settled (its reply lost, its replica killed).
        let leaked = budget.reserve(now, "leaked", 600, acc).await.expect("hold");
        assert_eq!(leaked.held_nano_usd, 600);
        // The account stays busy: a call reserves and settles every ten minutes.
        for (n, minute) in (10..60).step_by(10).enumerate() {
            let t = at(now, minute * 60_000 * MS);
            let rid = format!("busy{n}");
            let got = budget.reserve(t, &rid, 10, acc).await.expect("busy");
            assert_eq!(got.accounts[0].1.reserved_nano_usd, 600, "still held");
            budget.settle(t, &rid, 0, acc).await.expect("settle");
        }
        let before = at(now, HOUR_NS - MS);
        let refused = budget.reserve(before, "big", 500, acc).await.expect("r");
        assert_eq!(refused.held_nano_usd, 0, "600 held until the deadline");
        let deadline = at(now, HOUR_NS);
        let admitted = budget.reserve(deadline, "big", 500, acc).await.expect("r");
        assert_eq!(admitted.held_nano_usd, 500, "the leaked hold lapsed");
        assert_eq!(admitted.accounts[0].1, Account::default());
    });
}

#[test]
fn a_settle_after_its_hold_lapsed_books_without_releasing_another_hold() {
    with_budget("outlived", async |budget, acc, now| {
        budget.reserve(now, "long", 600, acc).await.expect("hold");
        let later = at(now, HOUR_NS);
        let other = budget.reserve(later, "other", 300, acc).await.expect("r");
        assert_eq!(other.held_nano_usd, 300);
        // The long call ends after its lease: its cost is booked, the other hold stays.
        budget
            .settle(later, "long", 700, acc)
            .await
            .expect("settle");
        let read = budget.reserve(later, "reader", 0, acc).await.expect("read");
        let expected = Account {
            spent_nano_usd: 700,
            reserved_nano_usd: 300,
        };
        assert_eq!(read.accounts[0].1, expected);
    });
}

#[test]
fn each_call_drops_at_most_eight_expired_holds_per_account() {
    with_budget("backlog", async |budget, acc, now| {
        for n in 0..20 {
            let rid = format!("leak{n}");
            let got = budget.reserve(now, &rid, 10, acc).await.expect("hold");
            assert_eq!(got.held_nano_usd, 10);
        }
        let later = at(now, HOUR_NS);
        for left in [120, 40, 0] {
            let read = budget.reserve(later, "reader", 0, acc).await.expect("read");
            assert_eq!(read.accounts[0].1.reserved_nano_usd, left);
        }
    });
}

#[test]
fn a_replica_lagging_redis_past_the_period_end_keeps_the_key_it_books_into() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let mut config = server.config();
        config.expiry_grace = spillway_core::Duration::from_secs(1); // the default
        let store = connect(config).await;
        let budget = RedisBudget::new(&store, "skew", &caps()).expect("valid");
        let acc = accounts(1, 1_000_000, 1_000_000);
        // Its clock reads 1 s before the hour Redis' clock is already in: it books into the
        // past hour, whose end + 1 s is already behind Redis' clock (the old expiry deleted
        // the key at once; a replica 5 s behind at the turn of the hour is this case).
        let hour_start = spillway_core::budget::Period::Hour
            .window(wall_now().as_nanos())
            .end_unix_ns
            - HOUR_NS;
        let lagging = Time::from_nanos(hour_start - 1_000 * MS);
        budget
            .reserve(lagging, "late", 100, &acc)
            .await
            .expect("hold");
        budget
            .settle(lagging, "late", 80, &acc)
            .await
            .expect("settle");
        let read = budget
            .reserve(lagging, "reader", 0, &acc)
            .await
            .expect("read");
        let spent: Vec<u64> = read
            .accounts
            .iter()
            .map(|(_, t)| t.spent_nano_usd)
            .collect();
        assert_eq!(spent, vec![80, 80], "the hourly and the daily key kept");
    });
}

#[test]
fn a_restart_that_lost_the_spend_is_detected_by_budget_calls() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        // A store that only the budget uses: no limiter call checks the epoch for it.
        let store = connect(server.config()).await;
        let budget = RedisBudget::new(&store, "lost", &caps()).expect("valid");
        let acc = accounts(1, 1_000, 1_000);
        let now = wall_now();
        budget.reserve(now, "a", 100, &acc).await.expect("hold");
        budget.settle(now, "a", 400, &acc).await.expect("settle");
        server.kill();
        assert!(budget.reserve(now, "b", 100, &acc).await.is_err(), "down");
        server.restart(); // no persistence: the spend is gone
        let mut read = None;
        for _ in 0..100 {
            if let Ok(r) = budget.reserve(now, "reader", 0, &acc).await {
                read = Some(r);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let read = read.expect("Redis answers again");
        assert_eq!(read.accounts[0].1.spent_nano_usd, 0, "the spend was lost");
        assert_eq!(store.stats().lost_epochs, 1, "and the loss was seen");
    });
}

/// Replicas configured with different expiry graces share a spend key: a settle from the one
/// with the smaller grace does not cut the expiry the other set (before, its `PEXPIREAT` did:
/// the period's spend could vanish before the larger grace promised).
#[test]
fn a_smaller_grace_never_shortens_a_spend_keys_expiry() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let now = wall_now();
    let expiry = |admin: &mut redis::Connection| -> i64 {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*key_prod*|s|*")
            .query(admin)
            .expect("KEYS");
        assert_eq!(keys.len(), 1, "one hourly spend key");
        redis::cmd("PEXPIRETIME")
            .arg(&keys[0])
            .query(admin)
            .expect("PEXPIRETIME")
    };
    let mut admin = server.admin();
    let mut expiries = Vec::new();
    runtime().block_on(async {
        // The larger grace first, then the smaller one (the test server's 3,600 s).
        for (n, grace_s) in [7_200, 3_600].into_iter().enumerate() {
            let mut config = server.config();
            config.expiry_grace = spillway_core::Duration::from_secs(grace_s);
            let store = connect(config).await;
            let budget = RedisBudget::new(&store, "graces", &caps()).expect("valid");
            let acc = accounts(1, 1_000, 1_000);
            let rid = budget.request_id(n as u64);
            budget.reserve(now, &rid, 10, &acc).await.expect("reserve");
            budget.settle(now, &rid, 10, &acc).await.expect("settle");
            expiries.push(expiry(&mut admin));
        }
    });
    let larger = expiries[0];
    assert!(larger > 0, "expires: {expiries:?}");
    assert!(expiries[1] >= larger, "shortened by 3,600 s: {expiries:?}");
}
