//! Keyed limiters: a key behaves exactly like its own limiter (sweeps included), a sweep keeps
//! only the keys still active, and memory stays bounded over an endless stream of new keys.

use crate::spec;
use proptest::prelude::*;
use spillway_core::limit::{
    Algorithm, AnyLimiter, Charge, Decision, Demand, Keyed, LayerSpec, Layered, LimitSpec, Limiter,
    Scope, Subject, Unit,
};
use spillway_core::{Duration, Time};
use std::collections::{BTreeMap, BTreeSet};

/// Keys that committed recently enough that their limiter may still not be fresh at `now`.
fn recently_active(spec: &LimitSpec, commits: &[(u64, u64)], now: u64) -> Option<usize> {
    let w = spec.window.as_nanos();
    let active = |t: u64| -> Option<bool> {
        Some(match spec.algorithm {
            Algorithm::SlidingLog => now - t < w,
            Algorithm::FixedWindow => t / w == now / w,
            Algorithm::SlidingCounter => t / w + 1 >= now / w,
            Algorithm::TokenBucket => return None,
        })
    };
    let mut keys = BTreeSet::new();
    for &(t, key) in commits {
        if active(t)? {
            keys.insert(key);
        }
    }
    Some(keys.len())
}

proptest! {
    #![proptest_config(crate::config("keyed"))]

    /// Every decision of a keyed map equals that of an independent limiter per key (so a
    /// swept key really behaves like the prototype); after `sweep(now)` exactly the keys whose
    /// limiter is not fresh remain, which for window limiters are at most the keys that
    /// committed within the window. Streams are long enough to trigger automatic sweeps.
    #[test]
    fn keys_behave_independently_and_sweeps_keep_only_active_keys(
        spec in spec(),
        stream in prop::collection::vec((0u64..3_000, 0u64..4_000, 0u64..4, any::<bool>()), 1..3_000)
    ) {
        let proto = spec.build().expect("valid");
        let cap = proto.capacity();
        let mut keyed = Keyed::new(proto.clone());
        let mut replicas: BTreeMap<u64, AnyLimiter> = BTreeMap::new();
        let mut commits: Vec<(u64, u64)> = Vec::new();
        let mut t = crate::START_NS;
        for (gap_us, key, cost, refund) in stream {
            t += gap_us * 1_000;
            let (now, cost) = (Time::from_nanos(t), cost.min(cap));
            let replica = replicas.entry(key).or_insert_with(|| proto.clone());
            if refund {
                let charged_at = Time::from_nanos(t.saturating_sub(gap_us * 7_000));
                let charge = Charge {
                    at: charged_at,
                    cost: cost + gap_us % 3,
                };
                keyed.refund(now, charge, &key, cost);
                replica.refund(now, charge, cost);
                continue;
            }
            let decision = keyed.acquire(now, &key, cost);
            prop_assert_eq!(decision.clone(), replica.acquire(now, cost), "key {} at {}", key, t);
            if decision == Ok(Decision::Allowed) && cost > 0 {
                commits.push((t, key));
            }
        }
        let now = Time::from_nanos(t);
        keyed.sweep(now);
        let busy = replicas.values().filter(|l| !l.is_fresh(now)).count();
        prop_assert_eq!(keyed.len(), busy);
        if let Some(active) = recently_active(&spec, &commits, t) {
            prop_assert!(keyed.len() <= active, "{} resident, {} active", keyed.len(), active);
        }
    }
}

/// 100,000 distinct keys, one new key per millisecond for 100 s, each limited per second:
/// resident keys stay near twice the keys active in a window (plus the sweep floor).
#[test]
fn memory_stays_bounded_over_a_long_stream_of_new_keys() {
    for algorithm in [
        Algorithm::TokenBucket,
        Algorithm::SlidingLog,
        Algorithm::SlidingCounter,
        Algorithm::FixedWindow,
    ] {
        let spec = LimitSpec {
            algorithm,
            limit: 1,
            window: Duration::from_secs(1),
            burst: None,
        };
        // Keys active at once: those of the last second (two aligned windows for the counter).
        let active = if algorithm == Algorithm::SlidingCounter {
            2_000
        } else {
            1_000
        };
        let bound = (2 * active + 2).max(1_025);
        let mut keyed = Keyed::new(spec.build().expect("valid"));
        let mut peak = 0;
        for key in 0..100_000u64 {
            let now = Time::from_nanos(key * 1_000_000);
            assert_eq!(keyed.acquire(now, &key, 1), Ok(Decision::Allowed));
            peak = peak.max(keyed.len());
        }
        assert!(peak <= bound, "{algorithm:?}: peak {peak} > {bound}");
    }
}

/// The same for a layered limiter with per-user and per-feature layers.
#[test]
fn layered_memory_stays_bounded_over_a_long_stream_of_new_users() {
    let layer = |name: &str, scope, algorithm| LayerSpec {
        name: name.into(),
        scope,
        unit: Unit::Requests,
        limit: LimitSpec {
            algorithm,
            limit: 10,
            window: Duration::from_secs(1),
            burst: None,
        },
    };
    let mut layers = Layered::new(vec![
        layer("user", Scope::User, Algorithm::TokenBucket),
        layer("feature", Scope::Feature, Algorithm::SlidingLog),
        layer("key", Scope::ApiKey, Algorithm::SlidingCounter),
    ])
    .expect("valid");
    let demand = Demand {
        requests: 1,
        tokens: 0,
    };
    let mut peak = 0;
    for i in 0..100_000u64 {
        let who = Subject {
            team: 0,
            user: i,
            feature: i,
            api_key: i,
        };
        let _ = layers.acquire(Time::from_nanos(i * 1_000_000), &who, demand);
        peak = peak.max(layers.resident_keys());
    }
    // user and feature: ≤ 2·1,000 + 2 each; api key (counter): ≤ 2·2,000 + 2.
    assert!(peak <= 2 * 2_002 + 4_002, "peak {peak}");
}
