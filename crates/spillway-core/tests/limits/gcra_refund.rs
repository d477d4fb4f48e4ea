//! A token bucket's settle gives back only what of its own charge has not refilled: never more
//! than exact accounting would (the limit holds), exact when the bucket was full at the charge.

use crate::config;
use proptest::prelude::*;
use spillway_core::limit::{
    Algorithm, Charge, Demand, Gcra, LayerSpec, Layered, LayeredDecision, LimitSpec, Limiter,
    Scope, Subject, Unit,
};
use spillway_core::{Duration, Time};

/// 100 tokens per 60 s, capacity 100 (one token every 0.6 s).
fn bucket() -> Gcra {
    Gcra::new(100, 100, Duration::from_secs(60)).expect("valid bucket")
}

/// Admit single tokens at `s` seconds until refused; how many.
fn fill(b: &mut Gcra, s: u64) -> u64 {
    let mut n = 0;
    while b.acquire(Time::from_secs(s), 1).expect("fits").is_allowed() {
        n += 1;
    }
    n
}

fn charge(at_s: u64, cost: u64) -> Charge {
    Charge {
        at: Time::from_secs(at_s),
        cost,
    }
}

/// The reviewer's example through layers: reserve 100 at 0 s, the bucket is full again at
/// 60 s and others take 100 then, settle at 61 s with 10 used. The charge has refilled, so
/// nothing comes back: 101 admitted within [60 s, 61 s] (191 when the refund ignored its
/// charge).
#[test]
fn a_settle_after_its_charge_refilled_gives_back_nothing() {
    let mut layers = Layered::new(vec![LayerSpec {
        name: "tokens".into(),
        scope: Scope::Global,
        unit: Unit::Tokens,
        limit: LimitSpec {
            algorithm: Algorithm::TokenBucket,
            limit: 100,
            window: Duration::from_secs(60),
            burst: None,
        },
    }])
    .expect("valid layer");
    let (who, tokens) = (Subject::default(), |tokens| Demand {
        requests: 1,
        tokens,
    });
    let r = layers
        .reserve(Time::ZERO, &who, tokens(100))
        .expect("fits")
        .expect("admitted");
    let mut admitted = 0;
    for s in [60, 61] {
        if s == 61 {
            layers.settle(Time::from_secs(61), r, tokens(10));
        }
        while layers.acquire(Time::from_secs(s), &who, tokens(1)) == Ok(LayeredDecision::Allowed) {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 101);
}

/// Why the rule takes the charge's own instant, not its place in the queue (the module docs'
/// example): S and R reserve 50 at 0 s (R queued at [30 s, 60 s]), S settles at 0 s having used
/// nothing, which moves R to [0 s, 30 s]; others take 100 at 30 s; R settles at 31 s having
/// used nothing. R has refilled: nothing comes back. Refunding from R's recorded place
/// (a charge at 30 s) would give back 50 more at 31 s.
#[test]
fn a_charge_moved_down_by_an_earlier_refund_is_not_refunded_twice() {
    for (r_at, expected) in [(0, 1), (30, 50)] {
        let mut b = bucket();
        for _ in 0..2 {
            assert!(b.acquire(Time::ZERO, 50).expect("fits").is_allowed());
        }
        b.refund(Time::ZERO, charge(0, 50), 50);
        assert_eq!(fill(&mut b, 30), 100);
        b.refund(Time::from_secs(31), charge(r_at, 50), 50);
        assert_eq!(fill(&mut b, 31), expected, "R recorded at {r_at} s");
    }
}

/// Exact where the rule promises it: a charge into a full bucket, settled before it refilled,
/// gives back all its unused part (here 30 of 50 at 12 s: 20 s of the charge's 30 s remain).
#[test]
fn a_charge_into_a_full_bucket_is_refunded_exactly() {
    let mut b = bucket();
    assert!(b.acquire(Time::ZERO, 50).expect("fits").is_allowed());
    b.refund(Time::from_secs(12), charge(0, 50), 30);
    // Exact: as if 20 had been charged at 0 s: full at 12 s.
    assert_eq!(b.full_at(), Time::from_secs(12));
    assert_eq!(b.available(Time::from_secs(12)), 100);
}

#[derive(Clone, Copy, Debug)]
enum Op {
    /// Reserve an estimate (charged unconditionally), to be settled with `used`.
    Reserve { estimate: u64, used: u64 },
    /// Others consume (unconditionally: debt included).
    Commit(u64),
    /// Settle the pending reservation at this index (modulo how many are pending).
    Settle(usize),
}

fn op(capacity: u64) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1..=capacity, 0..=capacity)
            .prop_map(|(estimate, used)| Op::Reserve { estimate, used: used.min(estimate) }),
        2 => (0..=capacity).prop_map(Op::Commit),
        3 => any::<usize>().prop_map(Op::Settle),
    ]
}

proptest! {
    #![proptest_config(config("gcra_refund"))]

    /// Against exact accounting: a bucket where every reservation charged what it used at its
    /// instant (its settle then does nothing). With reservations interleaved and settled late,
    /// in any order, the real bucket is never emptier-later than that one: its TAT (`full_at`)
    /// is never earlier, so it never admits what the exact one would refuse.
    #[test]
    fn refunds_never_give_back_more_than_exact_accounting(
        (capacity, ops) in (1u64..20).prop_flat_map(|c| {
            (Just(c), prop::collection::vec((0u64..12, op(c)), 1..120))
        }),
        rate in 1u64..20,
        period_ms in 1u64..2_000,
    ) {
        let period = Duration::from_millis(period_ms);
        let mut real = Gcra::new(capacity, rate, period).expect("valid");
        let mut exact = real.clone();
        let mut pending: Vec<(Charge, u64)> = Vec::new();
        // Steps of a quarter token's refill time: refills, and the bucket running full
        // again between a charge and its settle, are common.
        let step = period.as_nanos() / rate / 4;
        let mut t = 0u64;
        for (steps, op) in ops {
            t += steps * step;
            let now = Time::from_nanos(t);
            match op {
                Op::Reserve { estimate, used } => {
                    real.commit(now, estimate);
                    exact.commit(now, used);
                    pending.push((Charge { at: now, cost: estimate }, used));
                }
                Op::Commit(cost) => {
                    real.commit(now, cost);
                    exact.commit(now, cost);
                }
                Op::Settle(i) if !pending.is_empty() => {
                    let (charge, used) = pending.swap_remove(i % pending.len());
                    real.refund(now, charge, charge.cost - used);
                }
                Op::Settle(_) => {}
            }
            prop_assert!(
                real.full_at() >= exact.full_at(),
                "at {}: real full at {:?}, exact at {:?}", t, real.full_at(), exact.full_at()
            );
            for cost in [1, capacity] {
                if real.check(now, cost).expect("fits").is_allowed() {
                    prop_assert!(exact.check(now, cost).expect("fits").is_allowed());
                }
            }
        }
    }

    /// With one reservation into a full bucket and no one else, a settle before the charge
    /// refills is exact: the bucket ends as if the actual cost had been charged.
    #[test]
    fn a_lone_reservation_into_a_full_bucket_settles_exactly(
        capacity in 1u64..50,
        rate in 1u64..50,
        period_ms in 1u64..2_000,
        (estimate, used) in (1u64..50).prop_flat_map(|e| (Just(e), 0..=e)),
        start_ms in 0u64..10_000,
        after_ms in 0u64..10_000,
    ) {
        let estimate = estimate.min(capacity);
        let used = used.min(estimate);
        let period = Duration::from_millis(period_ms);
        let mut real = Gcra::new(capacity, rate, period).expect("valid");
        let mut exact = real.clone();
        let ms = |ms: u64| Time::from_nanos(ms * 1_000_000);
        let (at, now) = (ms(start_ms), ms(start_ms + after_ms));
        real.commit(at, estimate);
        exact.commit(at, used);
        real.refund(now, Charge { at, cost: estimate }, estimate - used);
        prop_assert_eq!(real.available(now), exact.available(now));
        if real.full_at() > now {
            prop_assert_eq!(real.full_at(), exact.full_at());
        }
    }
}
