//! Period rollover: spend resets at the boundary, reservations carry over, the actual is booked
//! in the period it settles in, and idle accounts are dropped (memory follows the period).

use proptest::prelude::*;
use spillway_core::Time;
use spillway_core::budget::{CapId, CapTarget, Ledger, LedgerReservation, OnExhausted, Period};
use spillway_core::limit::{Scope, Subject};

use crate::{DAY_NS, cap, config, daily_cap};

/// 2026-11-23T00:00:00Z: the simulator may start its clock at any date.
const ORIGIN_UNIX_NS: u64 = 1_795_392_000_000_000_000;

fn daily() -> Ledger {
    Ledger::new(
        vec![
            daily_cap("global", Scope::Global, u64::MAX, OnExhausted::Queue),
            daily_cap("user", Scope::User, u64::MAX, OnExhausted::Queue),
        ],
        ORIGIN_UNIX_NS,
    )
    .expect("valid")
}

proptest! {
    #![proptest_config(config("rollover"))]

    /// Over three days of requests that settle up to a day later, the global account always
    /// holds exactly the outstanding estimates and the actuals settled in the current day.
    #[test]
    fn spend_resets_reservations_carry(
        steps in prop::collection::vec((0u64..DAY_NS / 4, 1u64..1000, 0u64..1000, any::<bool>()), 1..80)
    ) {
        let mut l = daily();
        let mut now = 0u64;
        let mut in_flight: Vec<(LedgerReservation, u64)> = Vec::new();
        let mut settled: Vec<(u64, u64)> = Vec::new(); // (day, actual)
        for (gap, estimate, actual, settle) in steps {
            now += gap;
            let t = Time::from_nanos(now);
            if settle && !in_flight.is_empty() {
                let (r, a) = in_flight.remove(0);
                l.settle(t, r, a);
                settled.push((now / DAY_NS, a));
            }
            let r = l.reserve(t, &Subject { user: estimate % 3, ..Subject::default() }, estimate).expect("no limit");
            in_flight.push((r, actual));
            let account = l.account(t, CapId(0), 0).expect("global");
            let today: u64 = settled.iter().filter(|(d, _)| *d == now / DAY_NS).map(|(_, a)| a).sum();
            prop_assert_eq!(account.spent_nano_usd, today);
            prop_assert_eq!(account.reserved_nano_usd, in_flight.iter().map(|(r, _)| r.estimate_nano_usd).sum::<u64>());
            prop_assert_eq!(l.reset_at(t, CapId(0)), Some(Time::from_nanos((now / DAY_NS + 1) * DAY_NS)));
        }
    }
}

proptest! {
    #![proptest_config(config("rollover"))]

    /// Upper-bound estimates never exceed an hourly or daily cap, across boundaries too:
    /// reservations carried into a new period still count against it.
    #[test]
    fn upper_bounds_hold_across_boundaries(
        limit in 0u64..3000,
        steps in prop::collection::vec((0u64..DAY_NS / 8, 1u64..500, 0u64..500, 0usize..3), 1..120),
    ) {
        let mut l = Ledger::new(
            vec![
                cap("hourly", Scope::Global, CapTarget::Each, Period::Hour, limit / 4, OnExhausted::Queue),
                daily_cap("daily", Scope::User, limit, OnExhausted::Queue),
            ],
            ORIGIN_UNIX_NS,
        )
        .expect("valid");
        let mut now = 0u64;
        let mut in_flight: Vec<(LedgerReservation, u64)> = Vec::new();
        for (gap, estimate, actual, settle) in steps {
            now += gap;
            let t = Time::from_nanos(now);
            for (r, a) in in_flight.drain(..settle.min(in_flight.len())) {
                l.settle(t, r, a);
            }
            if let Ok(r) = l.reserve(t, &Subject::default(), estimate) {
                in_flight.push((r, actual.min(estimate)));
            }
            for (cap, limit) in [(CapId(0), limit / 4), (CapId(1), limit)] {
                let a = l.account(t, cap, 0).expect("cap");
                prop_assert!(a.committed_nano_usd() <= limit, "{cap:?}: {a:?} over {limit}");
            }
        }
    }
}

#[test]
fn idle_accounts_are_dropped_when_the_period_rolls() {
    let mut l = daily();
    let day1 = Time::from_secs(3600);
    let mut kept = None;
    for user in 0..10_000 {
        let r = l
            .reserve(
                day1,
                &Subject {
                    user,
                    ..Subject::default()
                },
                5,
            )
            .expect("fits");
        if user == 77 {
            kept = Some(r);
        } else {
            l.settle(day1, r, 5);
        }
    }
    assert_eq!(
        l.accounts(CapId(1)).len(),
        10_000,
        "spend is remembered within the day"
    );
    let day2 = Time::from_nanos(DAY_NS + 1);
    l.roll(day2);
    let left = l.accounts(CapId(1));
    assert_eq!(
        left.len(),
        1,
        "only the account with a reservation in flight survives"
    );
    assert_eq!(
        (
            left[0].0,
            left[0].1.spent_nano_usd,
            left[0].1.reserved_nano_usd
        ),
        (77, 0, 5)
    );
    l.settle(day2, kept.expect("reserved"), 9);
    assert_eq!(
        l.account(day2, CapId(1), 77).expect("cap").spent_nano_usd,
        9,
        "booked on the day it settled"
    );
    assert_eq!(l.account(day2, CapId(0), 0).expect("cap").spent_nano_usd, 9);
}

#[test]
fn month_cap_resets_on_the_first() {
    // Origin 2026-11-23; December starts 8 days later.
    let mut l = Ledger::new(
        vec![cap(
            "monthly",
            Scope::Global,
            CapTarget::Each,
            Period::Month,
            100,
            OnExhausted::Queue,
        )],
        ORIGIN_UNIX_NS,
    )
    .expect("valid");
    let r = l
        .reserve(Time::ZERO, &Subject::default(), 100)
        .expect("fits");
    l.settle(Time::ZERO, r, 100);
    let blocked = l
        .reserve(Time::ZERO, &Subject::default(), 1)
        .expect_err("month spent");
    assert_eq!(
        blocked.reset_at,
        Time::from_nanos(8 * DAY_NS),
        "2026-12-01T00:00:00Z"
    );
    assert!(
        l.reserve(blocked.reset_at, &Subject::default(), 100)
            .is_ok()
    );
}

#[test]
fn time_going_backwards_does_not_roll_back() {
    let mut l = daily();
    let late = Time::from_nanos(DAY_NS + 5);
    let r = l.reserve(late, &Subject::default(), 10).expect("fits");
    l.settle(late, r, 10);
    let early = Time::from_secs(1);
    assert_eq!(
        l.account(early, CapId(0), 0).expect("cap").spent_nano_usd,
        10,
        "still day 2's books"
    );
}
