//! A reservation the failure policy admitted is settled where it was charged: on this
//! instance's local share, never in Redis. Its acquire's reply was lost (Redis stalled), the
//! acquire landed in Redis when the stall ended, and its cancellation refunded that charge; a
//! settle that then sent `estimate − actual` to Redis would refund a second time (tokens given
//! back that nobody charged) or commit a difference on top of nothing.
//!
//! Each case charges `BEFORE` in Redis first, so a refund too many shows (a refund never gives
//! more room than a fresh limiter). It then reads the room left in Redis (it must be exactly
//! `LIMIT − BEFORE`: the outage's request nets zero there) and, with Redis killed, the room
//! left on the local share (exactly `LIMIT − actual`: the settle reached it).

use crate::outage::store_with;
use crate::server::{Server, runtime};
use spillway_core::limit::{
    Algorithm, Demand, LayerSpec, LayeredDecision, LimitSpec, Scope, Subject, Unit,
};
use spillway_core::{Duration, Time};
use spillway_redis::{FailurePolicy, RedisLayered, RedisLimiter, RedisStore, ServedBy};

pub(crate) const LIMIT: u64 = 100;
const BEFORE: u64 = 60;
const ESTIMATE: u64 = 30;
/// A settle below the estimate (a refund) and above it (a commit).
const ACTUALS: [u64; 2] = [10, 35];
const T: Time = Time::from_secs(100);

fn policies() -> [FailurePolicy; 2] {
    // One instance: the local share is the whole limit, so its room reads exactly.
    [
        FailurePolicy::FailOpen,
        FailurePolicy::LocalFallback { instances: 1 },
    ]
}

/// A limit of [`LIMIT`] a minute (shared with `outage_share.rs`).
pub(crate) fn spec(algorithm: Algorithm) -> LimitSpec {
    LimitSpec {
        algorithm,
        limit: LIMIT,
        window: Duration::from_secs(60),
        burst: None,
    }
}

fn tokens(n: u64) -> Demand {
    Demand {
        requests: 1,
        tokens: n,
    }
}

fn subject() -> Subject {
    Subject {
        user: 7,
        ..Subject::default()
    }
}

/// Who answers for `policy` while Redis is unavailable.
fn answered_by(policy: FailurePolicy) -> ServedBy {
    match policy {
        FailurePolicy::FailOpen => ServedBy::FailOpen,
        FailurePolicy::FailClosed { .. } => ServedBy::FailClosed,
        FailurePolicy::LocalFallback { .. } => ServedBy::LocalFallback,
    }
}

/// Run `during` while Redis is stalled ([`Server::stall`]): its calls' replies are lost and
/// the calls run when the stall ends. Then deliver the queued cancellations, and check that
/// exactly one acquire had landed and was refunded by its cancellation.
async fn stalled<T>(server: &Server, store: &RedisStore, during: impl Future<Output = T>) -> T {
    let stall = server.stall();
    let out = during.await;
    stall.resume();
    for _ in 0..200 {
        if store.flush_cancellations().await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let stats = store.stats();
    assert_eq!(
        (stats.cancels_delivered, stats.phantom_refunds),
        (1, 1),
        "the lost acquire landed in Redis and its cancellation refunded it: {stats:?}"
    );
    out
}

/// The most `fits` admits: `fits(n)` and not `fits(n + 1)` is asserted for the expected `n`.
pub(crate) async fn assert_room<F, Fut>(what: &str, expected: u64, fits: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = bool>,
{
    assert!(fits(expected).await, "{what}: {expected} no longer fits");
    assert!(
        !fits(expected + 1).await,
        "{what}: {} fits, more room than expected",
        expected + 1
    );
}

/// One case: who limits, who answers the outage, what the request really cost, and its name.
struct Case {
    algorithm: Algorithm,
    policy: FailurePolicy,
    actual: u64,
    name: String,
}

/// The limiter a case drives.
#[derive(Copy, Clone)]
enum Kind {
    Layered,
    Single,
}

/// Runs `kind`'s case for every algorithm, failure policy and actual cost, each on a fresh Redis.
fn every_case(kind: Kind) {
    let rt = runtime();
    for algorithm in [Algorithm::SlidingLog, Algorithm::TokenBucket] {
        for policy in policies() {
            for actual in ACTUALS {
                let Some(mut server) = Server::start(&[]) else {
                    return;
                };
                let case = Case {
                    algorithm,
                    policy,
                    actual,
                    name: format!("{algorithm:?} {policy:?} actual {actual}"),
                };
                let server = &mut server;
                rt.block_on(async {
                    match kind {
                        Kind::Layered => layered_case(server, &case).await,
                        Kind::Single => single_case(server, &case).await,
                    }
                });
            }
        }
    }
}

/// After the settle of a policy admission: Redis still holds exactly its `BEFORE` (the landed
/// acquire cancelled, nothing settled there), the local share exactly `actual`, and the policy
/// says it settled. `fits(served_by)` asks the limiter whether `n` fits, expecting `served_by`
/// to answer.
async fn assert_settled_on_the_local_share<F, Fut>(
    server: &mut Server,
    c: &Case,
    settled: ServedBy,
    fits: impl Fn(ServedBy) -> F,
) where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = bool>,
{
    let case = c.name.as_str();
    assert_room(case, LIMIT - BEFORE, fits(ServedBy::Redis)).await;
    server.kill();
    let local = fits(answered_by(c.policy));
    assert_room(&format!("{case} (local)"), LIMIT - c.actual, local).await;
    assert_eq!(settled, answered_by(c.policy), "{case}: who settled");
}

#[test]
fn a_layered_reservation_admitted_by_the_policy_settles_on_the_local_share_only() {
    every_case(Kind::Layered);
}

async fn layered_case(server: &mut Server, c: &Case) {
    let case = c.name.as_str();
    let store = store_with(server, c.policy).await;
    let layer = LayerSpec {
        name: "tokens".into(),
        scope: Scope::User,
        unit: Unit::Tokens,
        limit: spec(c.algorithm),
    };
    let layered = RedisLayered::new(&store, "settle", vec![layer]).unwrap();
    let v = layered
        .acquire(T, &subject(), tokens(BEFORE))
        .await
        .unwrap();
    assert!(
        v.decision == LayeredDecision::Allowed && v.served_by == ServedBy::Redis,
        "{case}"
    );

    let user = subject();
    let reserving = layered.reserve(T, &user, tokens(ESTIMATE));
    let v = stalled(server, &store, reserving).await.unwrap();
    assert_eq!(v.served_by, answered_by(c.policy), "{case}");
    let reservation = v.decision.expect("the local share admits the estimate");
    let settled = layered
        .settle(T, reservation, tokens(c.actual))
        .await
        .unwrap();

    let fits = |served_by| {
        let layered = &layered;
        move |n| async move {
            let v = layered.check(T, &subject(), tokens(n)).await.unwrap();
            assert_eq!(v.served_by, served_by, "{case}");
            v.decision == LayeredDecision::Allowed
        }
    };
    assert_settled_on_the_local_share(server, c, settled, fits).await;
}

#[test]
fn a_single_reservation_admitted_by_the_policy_settles_on_the_local_share_only() {
    every_case(Kind::Single);
}

async fn single_case(server: &mut Server, c: &Case) {
    let case = c.name.as_str();
    let store = store_with(server, c.policy).await;
    let limiter = RedisLimiter::new(&store, "settle", spec(c.algorithm)).unwrap();
    let v = limiter.acquire("k", T, BEFORE).await.unwrap();
    assert!(
        v.decision.is_allowed() && v.served_by == ServedBy::Redis,
        "{case}"
    );

    let reserving = limiter.reserve("k", T, ESTIMATE);
    let v = stalled(server, &store, reserving).await.unwrap();
    assert_eq!(v.served_by, answered_by(c.policy), "{case}");
    let reservation = v.decision.expect("the local share admits the estimate");
    assert_eq!(reservation.charged_by(), answered_by(c.policy), "{case}");
    let settled = limiter.settle(T, reservation, c.actual).await.unwrap();

    let fits = |served_by| {
        let limiter = &limiter;
        move |n| async move {
            let v = limiter.check("k", T, n).await.unwrap();
            assert_eq!(v.served_by, served_by, "{case}");
            v.decision.is_allowed()
        }
    };
    assert_settled_on_the_local_share(server, c, settled, fits).await;
}
