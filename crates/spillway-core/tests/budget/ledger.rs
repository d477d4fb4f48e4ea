//! The overshoot bound and reserve/settle conservation, against a model of the books.

use proptest::prelude::*;
use spillway_core::Time;
use spillway_core::budget::{CapId, CapTarget, Ledger, LedgerReservation, OnExhausted, Period};
use spillway_core::limit::{Scope, Subject};

use crate::{cap, config, daily_cap};

const USERS: u64 = 3;
const KEYS: u64 = 2;

/// Global, per-user and one-key caps, all daily, within one day (rollover is tested elsewhere).
fn ledger(global: u64, per_user: u64, key0: u64) -> Ledger {
    Ledger::new(
        vec![
            daily_cap("global", Scope::Global, global, OnExhausted::Queue),
            daily_cap("user", Scope::User, per_user, OnExhausted::Reject),
            cap(
                "key0",
                Scope::ApiKey,
                CapTarget::Only(0),
                Period::Day,
                key0,
                OnExhausted::Reject,
            ),
        ],
        0,
    )
    .expect("valid caps")
}

/// One request: who, estimate, actual, and how many in-flight requests to settle before it.
#[derive(Clone, Debug)]
struct Op {
    user: u64,
    key: u64,
    estimate: u64,
    actual: u64,
    settle_first: usize,
}

fn ops(under: bool) -> impl Strategy<Value = Vec<Op>> {
    let op = (0..USERS, 0..KEYS, 1u64..400, 0u64..400, 0usize..3).prop_map(
        move |(user, key, estimate, a, settle_first)| {
            // Upper-bound estimates: actual ≤ estimate. Otherwise anything up to estimate + 400.
            let actual = if under {
                a + estimate / 2
            } else {
                a.min(estimate)
            };
            Op {
                user,
                key,
                estimate,
                actual,
                settle_first,
            }
        },
    );
    prop::collection::vec(op, 1..120)
}

fn subject(user: u64, key: u64) -> Subject {
    Subject {
        user,
        team: 0,
        feature: 0,
        api_key: key,
    }
}

/// Every account's spend, per cap: (cap, id, spent).
fn spends(l: &Ledger, now: Time) -> Vec<(CapId, u64, u64, u64)> {
    let mut out = Vec::new();
    for (id, spec) in l.caps() {
        for who in 0..USERS.max(KEYS) {
            let a = l.account(now, id, who).expect("known cap");
            out.push((id, who, a.spent_nano_usd, spec.limit_nano_usd));
        }
    }
    out
}

/// Run `ops` with at most `max_in_flight` outstanding; check spend ≤ limit + bound after each
/// step, where bound = max_in_flight × (largest under-estimate so far).
fn run(ops: &[Op], max_in_flight: usize, limits: (u64, u64, u64)) -> Result<(), TestCaseError> {
    let mut l = ledger(limits.0, limits.1, limits.2);
    let now = Time::from_secs(10);
    let mut in_flight: Vec<(LedgerReservation, u64)> = Vec::new();
    let mut max_under = 0u64;
    let check = |l: &Ledger, max_under: u64| -> Result<(), TestCaseError> {
        for (cap, who, spent, limit) in spends(l, now) {
            let bound = limit.saturating_add((max_in_flight as u64).saturating_mul(max_under));
            prop_assert!(
                spent <= bound,
                "cap {cap:?} id {who}: spent {spent} > {limit} + {max_in_flight}×{max_under}"
            );
        }
        Ok(())
    };
    for op in ops {
        let settle = op
            .settle_first
            .max((in_flight.len() + 1).saturating_sub(max_in_flight));
        for (r, actual) in in_flight.drain(..settle.min(in_flight.len())) {
            max_under = max_under.max(actual.saturating_sub(r.estimate_nano_usd));
            l.settle(now, r, actual);
            check(&l, max_under)?;
        }
        if let Ok(r) = l.reserve(now, &subject(op.user, op.key), op.estimate) {
            in_flight.push((r, op.actual));
        }
    }
    for (r, actual) in in_flight {
        max_under = max_under.max(actual.saturating_sub(r.estimate_nano_usd));
        l.settle(now, r, actual);
        check(&l, max_under)?;
    }
    Ok(())
}

fn limits() -> impl Strategy<Value = (u64, u64, u64)> {
    (0u64..5000, 0u64..2000, 0u64..1500)
}

proptest! {
    #![proptest_config(config("ledger"))]

    /// Upper-bound estimates: no cap is ever exceeded, however requests interleave.
    #[test]
    fn upper_bound_estimates_never_exceed_a_cap(ops in ops(false), limits in limits()) {
        run(&ops, usize::MAX, limits)?;
    }

    /// One request at a time: spend exceeds a cap by at most the largest under-estimate.
    #[test]
    fn sequential_overshoot_is_at_most_the_largest_under_estimate(ops in ops(true), limits in limits()) {
        run(&ops, 1, limits)?;
    }

    /// With k in flight: by at most k × the largest under-estimate.
    #[test]
    fn concurrent_overshoot_is_bounded_by_in_flight_under_estimates(ops in ops(true), limits in limits(), k in 2usize..5) {
        run(&ops, k, limits)?;
    }

    /// Reserved = outstanding estimates and spent = settled actuals, on every account, after
    /// every step; a refused reservation changes nothing.
    #[test]
    fn reserve_settle_conserves_money(ops in ops(true), limits in limits()) {
        let mut l = ledger(limits.0, limits.1, limits.2);
        let now = Time::from_secs(10);
        let mut in_flight: Vec<(LedgerReservation, u64)> = Vec::new();
        let mut settled: Vec<(Subject, u64)> = Vec::new();
        for op in &ops {
            for (r, actual) in in_flight.drain(..op.settle_first.min(in_flight.len())) {
                l.settle(now, r, actual);
                settled.push((r.subject, actual));
            }
            let before = spends(&l, now);
            match l.reserve(now, &subject(op.user, op.key), op.estimate) {
                Ok(r) => in_flight.push((r, op.actual)),
                Err(_) => prop_assert_eq!(spends(&l, now), before),
            }
            let global = l.account(now, CapId(0), 0).expect("global");
            let reserved: u64 = in_flight.iter().map(|(r, _)| r.estimate_nano_usd).sum();
            let spent: u64 = settled.iter().map(|(_, a)| a).sum();
            prop_assert_eq!(global.reserved_nano_usd, reserved);
            prop_assert_eq!(global.spent_nano_usd, spent);
            for user in 0..USERS {
                let a = l.account(now, CapId(1), user).expect("user cap");
                let mine = |s: &Subject| s.user == user;
                prop_assert_eq!(a.reserved_nano_usd, in_flight.iter().filter(|(r, _)| mine(&r.subject)).map(|(r, _)| r.estimate_nano_usd).sum::<u64>());
                prop_assert_eq!(a.spent_nano_usd, settled.iter().filter(|(s, _)| mine(s)).map(|(_, a)| a).sum::<u64>());
            }
            let key0 = l.account(now, CapId(2), 0).expect("key cap");
            prop_assert_eq!(key0.spent_nano_usd, settled.iter().filter(|(s, _)| s.api_key == 0).map(|(_, a)| a).sum::<u64>());
        }
        for (r, actual) in in_flight.drain(..) {
            l.settle(now, r, actual);
        }
        prop_assert_eq!(l.account(now, CapId(0), 0).expect("global").reserved_nano_usd, 0);
    }
}

#[test]
fn the_seed_example_secondary_key_at_20_dollars_a_day() {
    let twenty_dollars = 20_000_000_000;
    let mut l = Ledger::new(
        vec![cap(
            "key:secondary",
            Scope::ApiKey,
            CapTarget::Only(42),
            Period::Day,
            twenty_dollars,
            OnExhausted::Reject,
        )],
        0,
    )
    .expect("valid");
    let leaked = Subject {
        team: 0,
        user: 9,
        feature: 0,
        api_key: 42,
    };
    let other = Subject {
        team: 0,
        user: 9,
        feature: 0,
        api_key: 7,
    };
    let now = Time::from_secs(60);
    let mut spent = 0u64;
    while let Ok(r) = l.reserve(now, &leaked, 3_000_000_000) {
        l.settle(now, r, 3_000_000_000);
        spent += 3_000_000_000;
    }
    assert_eq!(
        spent, 18_000_000_000,
        "six $3 requests fit in $20, the seventh does not"
    );
    let blocked = l.reserve(now, &leaked, 3_000_000_000).expect_err("capped");
    assert_eq!(blocked.cap, CapId(0));
    assert_eq!(blocked.reset_at, Time::from_secs(86_400), "midnight UTC");
    assert!(
        l.reserve(now, &other, 3_000_000_000).is_ok(),
        "other keys are not limited by this cap"
    );
}

#[test]
fn a_per_team_cap_is_shared_by_the_users_of_one_team_only() {
    let mut l = Ledger::new(
        vec![daily_cap("team", Scope::Team, 10, OnExhausted::Reject)],
        0,
    )
    .expect("valid");
    let member = |user, team| Subject {
        user,
        team,
        ..Subject::default()
    };
    let now = Time::from_secs(60);
    // Ann and Bob of team 1 spend its 10 between them.
    for who in [member(1, 1), member(2, 1)] {
        let r = l.reserve(now, &who, 5).expect("fits");
        l.settle(now, r, 5);
    }
    assert!(l.reserve(now, &member(2, 1), 1).is_err(), "team 1 is spent");
    assert!(
        l.reserve(now, &member(3, 2), 10).is_ok(),
        "team 2 has its own"
    );
}
