//! A settle's refund comes out of its own reservation's charge, in its own window: settling
//! after the window rolled never lets a window limiter admit more than its limit.

use crate::{START_NS, prefix_sums, sum_in};
use proptest::prelude::*;
use spillway_core::limit::{
    Algorithm, Demand, LayerSpec, Layered, LayeredDecision, LimitSpec, Scope, Subject, Unit,
};
use spillway_core::{Duration, Time};

/// One global token layer of `limit` per `window_s` seconds.
fn tokens(algorithm: Algorithm, limit: u64, window_s: u64) -> Layered {
    Layered::new(vec![LayerSpec {
        name: "tokens".into(),
        scope: Scope::Global,
        unit: Unit::Tokens,
        limit: LimitSpec {
            algorithm,
            limit,
            window: Duration::from_secs(window_s),
            burst: None,
        },
    }])
    .expect("valid layer")
}

fn demand(tokens: u64) -> Demand {
    Demand {
        requests: 1,
        tokens,
    }
}

/// Admit single tokens at `s` seconds until refused; how many.
fn fill(layers: &mut Layered, s: u64) -> u64 {
    let who = Subject::default();
    let mut n = 0;
    while layers.acquire(Time::from_secs(s), &who, demand(1)) == Ok(LayeredDecision::Allowed) {
        n += 1;
    }
    n
}

/// The reviewer's sequence on a log or a fixed window (100 tokens / 60 s): reserve 50 at 0 s,
/// others fill the window at 61 s, settle at 62 s with 10 used. The charge left the log at
/// 60 s (and the fixed window's count at its roll), so nothing more is admitted at 62 s.
fn settled_after_the_roll(algorithm: Algorithm) {
    let mut layers = tokens(algorithm, 100, 60);
    let who = Subject::default();
    let r = layers
        .reserve(Time::ZERO, &who, demand(50))
        .expect("fits")
        .expect("admitted");
    assert_eq!(fill(&mut layers, 61), 100);
    layers.settle(Time::from_secs(62), r, demand(10));
    assert_eq!(
        fill(&mut layers, 62),
        0,
        "{algorithm:?}: more than 100 in [61 s, 121 s)"
    );
}

#[test]
fn a_log_settled_after_its_charge_expired_gives_back_nothing() {
    settled_after_the_roll(Algorithm::SlidingLog);
}

#[test]
fn a_fixed_window_settled_in_a_later_window_gives_back_nothing() {
    settled_after_the_roll(Algorithm::FixedWindow);
}

/// Counter (100 / 60 s): reserve 50 at 59 s, 75 admitted at 90 s, settle at 95 s with 10
/// used. The refund comes out of window [0, 60): prev = 10, weighing 10·25/60 at 95 s, so
/// 20 more fit (not 44: [60 s, 120 s) would then hold 119).
#[test]
fn a_counter_settled_after_the_roll_refunds_the_previous_window() {
    let mut layers = tokens(Algorithm::SlidingCounter, 100, 60);
    let who = Subject::default();
    let r = layers
        .reserve(Time::from_secs(59), &who, demand(50))
        .expect("fits")
        .expect("admitted");
    let t90 = Time::from_secs(90);
    assert_eq!(
        layers.acquire(t90, &who, demand(75)),
        Ok(LayeredDecision::Allowed)
    );
    layers.settle(Time::from_secs(95), r, demand(10));
    assert_eq!(fill(&mut layers, 95), 20);
}

/// Settled within the window it was charged in, every window limiter gives back exactly the
/// over-estimate: 90 more fit after a reservation of 50 that used 10, not 91.
#[test]
fn a_settle_in_the_same_window_gives_back_exactly() {
    for algorithm in [
        Algorithm::SlidingLog,
        Algorithm::SlidingCounter,
        Algorithm::FixedWindow,
    ] {
        let mut layers = tokens(algorithm, 100, 60);
        let who = Subject::default();
        let r = layers
            .reserve(Time::from_secs(1), &who, demand(50))
            .expect("fits")
            .expect("admitted");
        layers.settle(Time::from_secs(10), r, demand(10));
        assert_eq!(fill(&mut layers, 10), 90, "{algorithm:?}");
    }
}

/// A request: reserved `estimate` at its instant, settled `actual ≤ estimate` after `delay_ms`
/// (up to more than three windows).
#[derive(Clone, Debug)]
struct Ask {
    gap_ms: u64,
    estimate: u64,
    actual: u64,
    delay_ms: u64,
}

fn asks(limit: u64) -> impl Strategy<Value = Vec<Ask>> {
    let ask = (0u64..20_000, 1..=limit, 0..=limit, 0u64..200_000).prop_map(
        move |(gap_ms, estimate, actual, delay_ms)| Ask {
            gap_ms,
            estimate,
            actual: actual.min(estimate),
            delay_ms,
        },
    );
    prop::collection::vec(ask, 1..120)
}

/// Run `asks` through `layers` in time order (a settle after the reserves of its instant);
/// the admitted requests as (instant ns, what they finally cost), sorted.
fn run(layers: &mut Layered, asks: &[Ask]) -> Vec<(u64, u64)> {
    let who = Subject::default();
    let mut t = START_NS;
    // (instant, settle?, index)
    let mut events = Vec::new();
    for (i, a) in asks.iter().enumerate() {
        t += a.gap_ms * 1_000_000;
        events.push((t, false, i));
        events.push((t + a.delay_ms * 1_000_000, true, i));
    }
    events.sort_unstable();
    let mut held = vec![None; asks.len()];
    let mut admitted = Vec::new();
    for (t, settle, i) in events {
        let now = Time::from_nanos(t);
        if !settle {
            held[i] = layers
                .reserve(now, &who, demand(asks[i].estimate))
                .expect("fits")
                .ok();
            if held[i].is_some() {
                admitted.push((t, asks[i].actual));
            }
        } else if let Some(r) = held[i].take() {
            layers.settle(now, r, demand(asks[i].actual));
        }
    }
    admitted
}

proptest! {
    #![proptest_config(crate::config("settle"))]

    /// Whatever the settle delays, with every request costing its actual use (≤ its
    /// estimate): a log admits at most `limit` in every window `(t − W, t]`; a fixed window and
    /// a counter at most `limit` in every aligned window `[k·W, (k+1)·W)`. (Checked at the
    /// windows ending at, resp. containing, each admission: every other window holds a subset.)
    #[test]
    fn settles_never_admit_more_than_the_limit_in_a_window(
        algorithm in prop_oneof![
            Just(Algorithm::SlidingLog),
            Just(Algorithm::SlidingCounter),
            Just(Algorithm::FixedWindow),
        ],
        (limit, asks) in (1u64..60).prop_flat_map(|limit| (Just(limit), asks(limit))),
    ) {
        let mut layers = tokens(algorithm, limit, 60);
        let admitted = run(&mut layers, &asks);
        let prefix = prefix_sums(&admitted);
        let w = 60 * 1_000_000_000;
        for &(t, _) in &admitted {
            let (lo, hi) = match algorithm {
                Algorithm::SlidingLog => ((t + 1).saturating_sub(w), t + 1),
                _ => (t - t % w, t - t % w + w),
            };
            let used = sum_in(&admitted, &prefix, lo, hi);
            prop_assert!(used <= u128::from(limit), "{} in [{}, {})", used, lo, hi);
        }
    }
}
