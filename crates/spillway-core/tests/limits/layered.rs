//! Layered limiting: denials and errors change nothing, reserve/settle equals acquire, refunds
//! give capacity back, a cost no layer can ever admit names the layer.

use crate::{requests, spec, times};
use proptest::prelude::*;
use spillway_core::Time;
use spillway_core::limit::{
    Demand, LayerSpec, Layered, LayeredDecision, LayeredError, LimitSpec, Scope, Subject, Unit,
};

const SCOPES: [Scope; 5] = Scope::ALL;

/// Layers from specs: scopes cycle through all five, units alternate requests/tokens.
fn layered(specs: &[LimitSpec]) -> Layered {
    let layers = specs
        .iter()
        .enumerate()
        .map(|(i, &limit)| LayerSpec {
            name: format!("layer-{i}"),
            scope: SCOPES[i % SCOPES.len()],
            unit: if i % 2 == 0 {
                Unit::Requests
            } else {
                Unit::Tokens
            },
            limit: LimitSpec {
                limit: limit.limit.max(10),
                ..limit
            },
        })
        .collect();
    Layered::new(layers).expect("valid layers")
}

fn subject(i: usize, users: u64) -> Subject {
    let i = i as u64;
    Subject {
        // Teams of two users: a team layer keys differently from a user layer.
        team: (i % users) / 2,
        user: i % users,
        feature: i % 3,
        api_key: i % 2,
    }
}

/// The same answers from `a` and `b` to a probe of every subject and a few sizes.
fn same_answers(a: &Layered, b: &Layered, now: Time, users: u64) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.resident_keys(), b.resident_keys());
    for i in 0..6 * users as usize {
        for tokens in [0, 1, 5, 20] {
            let (who, demand) = (
                subject(i, users),
                Demand {
                    requests: 1,
                    tokens,
                },
            );
            prop_assert_eq!(a.check(now, &who, demand), b.check(now, &who, demand));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::config("layered"))]

    /// A denied (or impossible) layered request changes no layer and inserts no key: a shadow
    /// that only ever sees the admitted requests answers every probe the same way.
    #[test]
    fn a_denied_layered_request_changes_nothing(
        specs in prop::collection::vec(spec(), 1..5), reqs in requests(), users in 1u64..4
    ) {
        let mut layers = layered(&specs);
        let mut shadow = layers.clone();
        for (i, (t, c)) in times(&reqs).into_iter().enumerate() {
            // Now and then a demand no token layer can ever admit.
            let tokens = if i % 11 == 5 { 1_000_000 } else { c };
            let (who, demand) = (subject(i, users), Demand { requests: 1, tokens });
            match layers.acquire(t, &who, demand) {
                Ok(LayeredDecision::Allowed) => {
                    prop_assert_eq!(shadow.acquire(t, &who, demand), Ok(LayeredDecision::Allowed));
                }
                Ok(LayeredDecision::Denied(d)) => {
                    prop_assert!(!d.blocking.is_empty());
                    prop_assert!(d.retry_at > t);
                    // Exact: every layer admits at retry_at, one still refuses 1 ns before.
                    prop_assert_eq!(layers.check(d.retry_at, &who, demand), Ok(LayeredDecision::Allowed));
                    let before = Time::from_nanos(d.retry_at.as_nanos() - 1);
                    prop_assert!(matches!(layers.check(before, &who, demand), Ok(LayeredDecision::Denied(_))));
                }
                Err(LayeredError::NeverFits { cost, capacity, .. }) => prop_assert!(cost > capacity),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
            same_answers(&layers, &shadow, t, users)?;
        }
    }

    /// Reserve then settle with actual = estimate behaves exactly like acquire, step after
    /// step; settling a smaller actual leaves the state of acquiring the actual.
    #[test]
    fn reserve_then_settle_equals_acquire(
        specs in prop::collection::vec(spec(), 1..5), reqs in requests(), shrink in 0u64..6
    ) {
        let mut plain = layered(&specs);
        let mut reserved = plain.clone();
        let mut refunded = plain.clone();
        for (i, (t, c)) in times(&reqs).into_iter().enumerate() {
            let who = subject(i, 3);
            let estimate = Demand { requests: 1, tokens: c + shrink };
            let actual = Demand { requests: 1, tokens: c };
            let a = plain.acquire(t, &who, estimate);
            match reserved.reserve(t, &who, estimate) {
                Ok(Ok(r)) => {
                    prop_assert_eq!(&a, &Ok(LayeredDecision::Allowed));
                    reserved.settle(t, r, estimate);
                }
                Ok(Err(d)) => prop_assert_eq!(&a, &Ok(LayeredDecision::Denied(d))),
                Err(e) => prop_assert_eq!(&a, &Err(e)),
            }
            same_answers(&plain, &reserved, t, 3)?;
            // Reserve the estimate and settle the actual, versus acquiring the actual on a
            // copy made just before.
            let mut direct = refunded.clone();
            if let Ok(Ok(r)) = refunded.reserve(t, &who, estimate) {
                refunded.settle(t, r, actual);
                prop_assert_eq!(direct.acquire(t, &who, actual), Ok(LayeredDecision::Allowed));
                same_answers(&refunded, &direct, t, 3)?;
            }
        }
    }

    /// A demand above some layer's capacity is an error naming the first such layer, from
    /// check, acquire and reserve alike, and charges nothing.
    #[test]
    fn never_fits_names_the_layer(
        specs in prop::collection::vec(spec(), 1..5), pick in any::<prop::sample::Index>(),
        extra in 1u64..100
    ) {
        let mut layers = layered(&specs);
        let i = pick.index(layers.len());
        // A layer counts requests at even indices, tokens at odd ones.
        let capacity = LimitSpec { limit: specs[i].limit.max(10), ..specs[i] }.capacity();
        let mut demand = Demand { requests: 1, tokens: 1 };
        *(if i % 2 == 0 { &mut demand.requests } else { &mut demand.tokens }) = capacity + extra;
        let first = (0..layers.len())
            .find(|&j| {
                let cap = LimitSpec { limit: specs[j].limit.max(10), ..specs[j] }.capacity();
                (if j % 2 == 0 { demand.requests } else { demand.tokens }) > cap
            })
            .expect("layer i is too small");
        let expected = LayeredError::NeverFits {
            layer: layers.layer_name(first).to_owned(),
            cost: if first % 2 == 0 { demand.requests } else { demand.tokens },
            capacity: LimitSpec { limit: specs[first].limit.max(10), ..specs[first] }.capacity(),
        };
        let before = layers.clone();
        let now = Time::from_secs(5);
        let who = subject(1, 2);
        prop_assert_eq!(layers.check(now, &who, demand), Err(expected.clone()));
        prop_assert_eq!(layers.acquire(now, &who, demand), Err(expected.clone()));
        prop_assert_eq!(layers.reserve(now, &who, demand), Err(expected));
        same_answers(&layers, &before, now, 2)?;
    }
}

#[test]
fn a_zero_cost_unit_never_blocks_even_in_debt() {
    let tokens = LayerSpec {
        name: "tokens".into(),
        scope: Scope::User,
        unit: Unit::Tokens,
        limit: LimitSpec {
            algorithm: spillway_core::limit::Algorithm::TokenBucket,
            limit: 100,
            window: spillway_core::Duration::from_secs(60),
            burst: None,
        },
    };
    let mut layers = Layered::new(vec![tokens]).expect("valid");
    let who = Subject::default();
    let t = Time::from_secs(1);
    let estimate = Demand {
        requests: 1,
        tokens: 100,
    };
    let r = layers.reserve(t, &who, estimate).unwrap().unwrap();
    // Under-estimated by 10×: the user is in debt for the tokens layer...
    let actual = Demand {
        requests: 1,
        tokens: 1_000,
    };
    layers.settle(t, r, actual);
    let some = Demand {
        requests: 1,
        tokens: 1,
    };
    assert!(matches!(
        layers.check(t, &who, some),
        Ok(LayeredDecision::Denied(_))
    ));
    // ...but a request that costs no tokens is not this layer's business.
    let none = Demand {
        requests: 1,
        tokens: 0,
    };
    assert_eq!(layers.acquire(t, &who, none), Ok(LayeredDecision::Allowed));
    assert_eq!(layers.names_in(layers_blocking(&layers, t)).count(), 1);
}

fn layers_blocking(layers: &Layered, t: Time) -> spillway_core::limit::LayerSet {
    let demand = Demand {
        requests: 1,
        tokens: 1,
    };
    match layers.check(t, &Subject::default(), demand) {
        Ok(LayeredDecision::Denied(d)) => d.blocking,
        other => panic!("expected a denial, got {other:?}"),
    }
}
