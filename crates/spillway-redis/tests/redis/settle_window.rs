//! A settle's refund comes out of its own reservation's charge, in its own window, as in
//! spillway-core (`tests/limits/settle.rs` there): settling after the window rolled never lets
//! Redis admit more than the limit, and a settle within the window gives back exactly.

use crate::outage::store_with;
use crate::server::{Server, runtime};
use crate::settle_outage::spec;
use spillway_core::Time;
use spillway_core::limit::{Algorithm, Demand, LayerSpec, LayeredDecision, Scope, Subject, Unit};
use spillway_redis::{FailurePolicy, RedisLayered, RedisStore};

/// A multiple of the 60 s window, so that aligned windows start at `BASE + k·60 s`.
const BASE: u64 = 1200;

fn at(s: u64) -> Time {
    Time::from_secs(BASE + s)
}

fn tokens(n: u64) -> Demand {
    Demand {
        requests: 1,
        tokens: n,
    }
}

/// One global token layer of 100 a minute.
fn layered(store: &RedisStore, name: &str, algorithm: Algorithm) -> RedisLayered {
    let layer = LayerSpec {
        name: "tokens".into(),
        scope: Scope::Global,
        unit: Unit::Tokens,
        limit: spec(algorithm),
    };
    RedisLayered::new(store, name, vec![layer]).expect("valid layer")
}

/// Admit single tokens at `s` until refused; how many.
async fn fill(l: &RedisLayered, s: u64) -> u64 {
    let mut n = 0;
    while l
        .acquire(at(s), &Subject::default(), tokens(1))
        .await
        .unwrap()
        .decision
        == LayeredDecision::Allowed
    {
        n += 1;
    }
    n
}

/// Reserve `estimate` at `s` (admitted) and settle it at `settle_s` with `actual`, `between`
/// running in between.
async fn reserve_then_settle(
    l: &RedisLayered,
    (s, estimate): (u64, u64),
    (settle_s, actual): (u64, u64),
    between: impl std::future::Future<Output = ()>,
) {
    let who = Subject::default();
    let v = l.reserve(at(s), &who, tokens(estimate)).await.unwrap();
    let r = v.decision.expect("admitted");
    between.await;
    l.settle(at(settle_s), r, tokens(actual)).await.unwrap();
}

/// The reviewer's sequence: reserve 50 at 0 s, others fill the log at 61 s, settle at 62 s with
/// 10 used. The charge left the window at 60 s: nothing comes back (main gave back 40 of the
/// 61 s entries: 140 in [61 s, 121 s)).
#[test]
fn a_log_settled_after_its_charge_expired_gives_back_nothing() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = store_with(&server, FailurePolicy::FailOpen).await;
        let l = layered(&store, "log-late", Algorithm::SlidingLog);
        reserve_then_settle(&l, (0, 50), (62, 10), async {
            assert_eq!(fill(&l, 61).await, 100);
        })
        .await;
        assert_eq!(fill(&l, 62).await, 0, "more than 100 in [61 s, 121 s)");
    });
}

/// Counter: reserve 50 at 59 s, 75 admitted at 90 s, settle at 95 s with 10 used: the refund
/// comes out of window [0, 60), so 20 more fit at 95 s (not 44: 119 in [60 s, 120 s)).
#[test]
fn a_counter_settled_after_the_roll_refunds_the_previous_window() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = store_with(&server, FailurePolicy::FailOpen).await;
        let l = layered(&store, "counter-late", Algorithm::SlidingCounter);
        reserve_then_settle(&l, (59, 50), (95, 10), async {
            let v = l.acquire(at(90), &Subject::default(), tokens(75)).await;
            assert_eq!(v.unwrap().decision, LayeredDecision::Allowed);
        })
        .await;
        assert_eq!(fill(&l, 95).await, 20);
    });
}

/// Within the window of the charge, the whole over-estimate comes back: 90 fit after a
/// reservation of 50 that used 10.
#[test]
fn a_settle_in_the_same_window_gives_back_exactly() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = store_with(&server, FailurePolicy::FailOpen).await;
        for algorithm in [Algorithm::SlidingLog, Algorithm::SlidingCounter] {
            let l = layered(&store, &format!("{algorithm:?}-prompt"), algorithm);
            reserve_then_settle(&l, (1, 50), (10, 10), async {}).await;
            assert_eq!(fill(&l, 10).await, 90, "{algorithm:?}");
        }
    });
}

/// A settle whose charge has 45 later entries after it (more than the first chunks a walk back
/// from the newest read) still refunds out of that charge's own entry: reserve 50 at 0 s, one
/// token at each of 1 s to 45 s, settle at 50 s with 10 used. At 61 s the 0 s and 1 s entries
/// have left the window and 44 tokens remain: 56 fit. (Refunded from the newest entries, the
/// 40 would have come out of 6 s to 45 s, and 96 would fit.)
#[test]
fn a_log_settle_finds_its_charge_behind_many_later_entries() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = store_with(&server, FailurePolicy::FailOpen).await;
        let l = layered(&store, "log-deep", Algorithm::SlidingLog);
        reserve_then_settle(&l, (0, 50), (50, 10), async {
            for s in 1..=45 {
                let v = l.acquire(at(s), &Subject::default(), tokens(1)).await;
                assert_eq!(v.unwrap().decision, LayeredDecision::Allowed, "{s} s");
            }
        })
        .await;
        assert_eq!(fill(&l, 61).await, 56);
    });
}

/// A token bucket (100 / 60 s), as spillway-core's `Gcra`: reserve 100 at 0 s, the bucket is
/// full again at 60 s and others take 100 then, settle at 61 s with 10 used. The charge has
/// refilled: nothing comes back, 1 more fits at 61 s (the old refund gave back 90: 191 within
/// [60 s, 61 s]).
#[test]
fn a_bucket_settled_after_its_charge_refilled_gives_back_nothing() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = store_with(&server, FailurePolicy::FailOpen).await;
        let l = layered(&store, "bucket-late", Algorithm::TokenBucket);
        reserve_then_settle(&l, (0, 100), (61, 10), async {
            assert_eq!(fill(&l, 60).await, 100);
        })
        .await;
        assert_eq!(fill(&l, 61).await, 1);
    });
}

/// A bucket refunds out of the charge's own instant, not its place in the queue: S and R
/// reserve 50 at 0 s, S settles at 0 s having used nothing (R's charge moves to [0 s, 30 s]),
/// others take 100 at 30 s, R settles at 31 s having used nothing: R has refilled, 1 fits (50
/// if R were refunded from its recorded place). And into a full bucket, settled before the
/// charge refilled, the refund is exact: 50 reserved at 0 s, 20 used, settled at 12 s: full.
#[test]
fn a_bucket_refunds_what_of_its_own_charge_is_unrefilled() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = store_with(&server, FailurePolicy::FailOpen).await;
        let l = layered(&store, "bucket-moved", Algorithm::TokenBucket);
        let who = Subject::default();
        let s = l.reserve(at(0), &who, tokens(50)).await.unwrap();
        let r = l.reserve(at(0), &who, tokens(50)).await.unwrap();
        let (s, r) = (s.decision.expect("S"), r.decision.expect("R"));
        l.settle(at(0), s, tokens(0)).await.unwrap();
        assert_eq!(fill(&l, 30).await, 100);
        l.settle(at(31), r, tokens(0)).await.unwrap();
        assert_eq!(fill(&l, 31).await, 1);

        let l = layered(&store, "bucket-prompt", Algorithm::TokenBucket);
        reserve_then_settle(&l, (0, 50), (12, 20), async {}).await;
        assert_eq!(fill(&l, 12).await, 100);
    });
}
