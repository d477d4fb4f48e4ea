//! The same random requests, with injected times, fed to spillway-core's limiter and to the Redis
//! one: every decision, `retry_at` and error must be identical.

use crate::server::{Server, connect, runtime};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use spillway_core::limit::{
    Algorithm, Charge, Decision, Demand, LayerSpec, Layered, LimitError, LimitSpec, Limiter, Scope,
    Subject, Unit,
};
use spillway_core::{Duration, Time};
use spillway_redis::{
    RedisLayered, RedisLimitError, RedisLimiter, RedisReservation, RedisStore, ServedBy,
};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_NAME: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", NEXT_NAME.fetch_add(1, Ordering::Relaxed))
}

/// `cases` by default; `SPILLWAY_DIFF_CASES=n` runs more (a deeper hunt, not for CI).
fn runner(file: &'static str, cases: u32) -> TestRunner {
    let cases = std::env::var("SPILLWAY_DIFF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..Config::default()
    })
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::TokenBucket),
        Just(Algorithm::SlidingLog),
        Just(Algorithm::SlidingCounter),
    ]
}

/// Limits small enough to be hit; windows with odd nanoseconds (rates that do not divide).
fn spec() -> impl Strategy<Value = LimitSpec> {
    (
        algorithm(),
        1u64..12,
        prop_oneof![1u64..5_000, 1_000_000u64..3_000_000_000],
        proptest::option::of(1u64..15),
    )
        .prop_map(|(algorithm, limit, window, burst)| LimitSpec {
            algorithm,
            limit,
            window: Duration::from_nanos(window),
            burst,
        })
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Acquire,
    Check,
    Commit,
    Refund,
}

/// (op, time step in ns: mostly forward, sometimes back, cost up to 2 over capacity).
fn ops() -> impl Strategy<Value = Vec<(Op, i64, u64)>> {
    let op = prop_oneof![
        4 => Just(Op::Acquire),
        2 => Just(Op::Check),
        1 => Just(Op::Commit),
        1 => Just(Op::Refund),
    ];
    let step = prop_oneof![
        3 => Just(0i64),
        6 => 0i64..3_000_000_000,
        2 => 0i64..5_000,
        1 => -2_000_000_000i64..0,
    ];
    proptest::collection::vec((op, step, 0u64..20), 1..60)
}

/// Start instants: near zero, and realistic Unix-epoch nanoseconds (above 2^53).
fn start() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..10_000_000_000,
        1_700_000_000_000_000_000u64..1_800_000_000_000_000_000
    ]
}

fn core_answer(r: Result<Decision, LimitError>) -> Result<Decision, String> {
    r.map_err(|e| e.to_string())
}

fn redis_answer(
    r: Result<spillway_redis::Verdict<Decision>, RedisLimitError>,
) -> Result<Decision, String> {
    match r {
        Ok(v) => {
            assert_eq!(v.served_by, ServedBy::Redis);
            Ok(v.decision)
        }
        Err(RedisLimitError::Limit(e)) => Err(e.to_string()),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

async fn single_case(
    store: &RedisStore,
    spec: LimitSpec,
    t0: u64,
    ops: &[(Op, i64, u64)],
) -> Result<(), TestCaseError> {
    let mut core = spec.build().expect("valid spec");
    let redis = RedisLimiter::new(store, &unique("d"), spec).expect("valid on Redis");
    let mut now = t0;
    // A refund gives back out of the latest charge (any would do: both get the same).
    let mut charge = Charge {
        at: Time::from_nanos(t0),
        cost: 0,
    };
    for (i, &(op, step, cost)) in ops.iter().enumerate() {
        now = now.saturating_add_signed(step);
        let t = Time::from_nanos(now);
        let (expected, actual) = match op {
            Op::Acquire => {
                let expected = core_answer(core.acquire(t, cost));
                if expected == Ok(Decision::Allowed) {
                    charge = Charge { at: t, cost };
                }
                (expected, redis_answer(redis.acquire("k", t, cost).await))
            }
            Op::Check => (
                core_answer(core.check(t, cost)),
                redis_answer(redis.check("k", t, cost).await),
            ),
            Op::Commit => {
                core.commit(t, cost);
                redis.commit("k", t, cost).await.expect("commit");
                charge = Charge { at: t, cost };
                continue;
            }
            Op::Refund => {
                core.refund(t, charge, cost);
                redis.refund("k", t, charge, cost).await.expect("refund");
                continue;
            }
        };
        prop_assert_eq!(
            expected,
            actual,
            "op #{} {:?} cost {} at {}",
            i,
            op,
            cost,
            now
        );
    }
    Ok(())
}

#[test]
fn single_limiters_match_the_core_exactly() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    let store = rt.block_on(connect(server.config()));
    // Without the request-id record (`exact_accounting` off) the decisions are the same: every
    // other case (by its start instant, so the strategy and its regressions are unchanged).
    let mut config = server.config();
    config.exact_accounting = false;
    let loose = rt.block_on(connect(config));
    runner("proptest-regressions/differential-single.txt", 160)
        .run(&(spec(), start(), ops()), |(spec, t0, ops)| {
            let store = if t0 % 2 == 0 { &store } else { &loose };
            rt.block_on(single_case(store, spec, t0, &ops))
        })
        .unwrap();
}

fn layer_spec() -> impl Strategy<Value = (Scope, Unit, LimitSpec)> {
    let scope = prop_oneof![
        Just(Scope::Global),
        Just(Scope::User),
        Just(Scope::Team),
        Just(Scope::Feature)
    ];
    let unit = prop_oneof![Just(Unit::Requests), Just(Unit::Tokens)];
    (scope, unit, spec()).prop_map(|(scope, unit, mut limit)| {
        if unit == Unit::Tokens {
            limit.limit *= 10;
            limit.burst = limit.burst.map(|b| b * 10);
        }
        (scope, unit, limit)
    })
}

#[derive(Clone, Copy, Debug)]
enum LayeredOp {
    Acquire,
    Check,
    /// Reserve the demand, settle immediately with (requests, tokens) actually used.
    ReserveSettle(u64, u64),
    /// Reserve the demand, settle with (requests, tokens) at a later `SettleHeld`: often after
    /// the window rolled, where a refund comes out of the reservation's own charge only.
    ReserveHold(u64, u64),
    /// Settle the oldest held reservation (nothing if none is held).
    SettleHeld,
}

fn layered_ops() -> impl Strategy<Value = Vec<(LayeredOp, u64, u64, u64, u64)>> {
    let op = prop_oneof![
        3 => Just(LayeredOp::Acquire),
        1 => Just(LayeredOp::Check),
        2 => (0u64..3, 0u64..150).prop_map(|(r, t)| LayeredOp::ReserveSettle(r, t)),
        1 => (0u64..3, 0u64..150).prop_map(|(r, t)| LayeredOp::ReserveHold(r, t)),
        1 => Just(LayeredOp::SettleHeld),
    ];
    // (op, forward step ns, user, requests, tokens)
    proptest::collection::vec(
        (
            op,
            prop_oneof![Just(0u64), 0u64..2_000_000_000],
            0u64..3,
            0u64..3,
            0u64..120,
        ),
        1..50,
    )
}

/// `reserve_with_room` on Redis, asserting that its room is the core's `Layered::room` (`core`
/// has already acquired the same demand) for every layer the demand touches; the verdict as an
/// acquire's.
async fn reserve_comparing_room(
    redis: &RedisLayered,
    core: &Layered,
    t: Time,
    subject: &Subject,
    demand: Demand,
    reserved: &mut Option<RedisReservation>,
) -> Result<
    Result<spillway_redis::Verdict<spillway_core::limit::LayeredDecision>, RedisLimitError>,
    TestCaseError,
> {
    let (verdict, rooms) = match redis.reserve_with_room(t, subject, demand).await {
        Ok(answer) => answer,
        Err(e) => return Ok(Err(e)),
    };
    let expected: Vec<_> = core
        .room(t, subject)
        .into_iter()
        .filter(|r| match r.unit {
            Unit::Requests => demand.requests > 0,
            Unit::Tokens => demand.tokens > 0,
        })
        .collect();
    prop_assert_eq!(rooms, expected, "room at {:?} for {:?}", t, demand);
    let decision = match verdict.decision {
        Ok(reservation) => {
            *reserved = Some(reservation);
            spillway_core::limit::LayeredDecision::Allowed
        }
        Err(denial) => spillway_core::limit::LayeredDecision::Denied(denial),
    };
    Ok(Ok(spillway_redis::Verdict {
        decision,
        now: verdict.now,
        served_by: verdict.served_by,
    }))
}

async fn layered_case(
    store: &RedisStore,
    specs: Vec<(Scope, Unit, LimitSpec)>,
    t0: u64,
    ops: &[(LayeredOp, u64, u64, u64, u64)],
) -> Result<(), TestCaseError> {
    let specs: Vec<LayerSpec> = specs
        .into_iter()
        .enumerate()
        .map(|(i, (scope, unit, limit))| LayerSpec {
            name: format!("layer{i}"),
            scope,
            unit,
            limit,
        })
        .collect();
    let mut core = Layered::new(specs.clone()).expect("valid layers");
    let redis = RedisLayered::new(store, &unique("l"), specs).expect("valid on Redis");
    let mut now = t0;
    let mut held = std::collections::VecDeque::new();
    for (i, &(op, step, user, requests, tokens)) in ops.iter().enumerate() {
        now = now.saturating_add(step);
        let t = Time::from_nanos(now);
        if let LayeredOp::SettleHeld = op {
            if let Some((reservation, reserved, used)) = held.pop_front() {
                settle_both(&mut core, &redis, t, (reservation, reserved), used).await?;
            }
            continue;
        }
        let subject = Subject {
            user,
            team: user / 2,
            feature: user % 2,
            api_key: 0,
        };
        let demand = Demand { requests, tokens };
        let mut reserved = None;
        let expected = match op {
            LayeredOp::Check => core.check(t, &subject, demand),
            _ => core.acquire(t, &subject, demand),
        };
        let actual = match op {
            LayeredOp::Check => redis.check(t, &subject, demand).await,
            LayeredOp::Acquire => redis.acquire(t, &subject, demand).await,
            _ => reserve_comparing_room(&redis, &core, t, &subject, demand, &mut reserved).await?,
        };
        let actual = match actual {
            Ok(v) => Ok(v.decision),
            Err(RedisLimitError::Layered(e)) => Err(e),
            Err(other) => panic!("unexpected error: {other}"),
        };
        prop_assert_eq!(
            &expected,
            &actual,
            "op #{} {:?} {:?} at {}",
            i,
            op,
            demand,
            now
        );
        let (LayeredOp::ReserveSettle(r, tk) | LayeredOp::ReserveHold(r, tk), Some(reserved)) =
            (op, reserved)
        else {
            continue;
        };
        let reservation = spillway_core::limit::Reservation {
            subject,
            estimate: demand,
            charged_at: t,
        };
        prop_assert_eq!(reserved.reservation(), reservation);
        prop_assert_eq!(reserved.charged_by(), ServedBy::Redis);
        let used = Demand {
            requests: r,
            tokens: tk,
        };
        if let LayeredOp::ReserveHold(..) = op {
            held.push_back((reservation, reserved, used));
        } else {
            settle_both(&mut core, &redis, t, (reservation, reserved), used).await?;
        }
    }
    Ok(())
}

/// Settle the same reservation on the core and on Redis (where it was charged).
async fn settle_both(
    core: &mut Layered,
    redis: &RedisLayered,
    t: Time,
    (reservation, reserved): (spillway_core::limit::Reservation, RedisReservation),
    used: Demand,
) -> Result<(), TestCaseError> {
    core.settle(t, reservation, used);
    prop_assert_eq!(
        redis.settle(t, reserved, used).await.expect("settle"),
        ServedBy::Redis
    );
    Ok(())
}

#[test]
fn layered_limiters_match_the_core_exactly() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    let store = rt.block_on(connect(server.config()));
    let strategy = (
        proptest::collection::vec(layer_spec(), 1..4),
        start(),
        layered_ops(),
    );
    runner("proptest-regressions/differential-layered.txt", 96)
        .run(&strategy, |(specs, t0, ops)| {
            rt.block_on(layered_case(&store, specs, t0, &ops))
        })
        .unwrap();
}

#[test]
fn known_answers_from_the_core_unit_tests() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        // 3 tokens/s: the retry is 1.333333334 s, not a rounded value.
        let spec = LimitSpec {
            algorithm: Algorithm::TokenBucket,
            limit: 3,
            window: Duration::from_secs(1),
            burst: None,
        };
        let b = RedisLimiter::new(&store, "known", spec).unwrap();
        let t = Time::from_secs(1);
        assert!(b.acquire("a", t, 3).await.unwrap().decision.is_allowed());
        assert_eq!(
            b.acquire("a", t, 1).await.unwrap().decision,
            Decision::Denied {
                retry_at: Time::from_nanos(1_333_333_334)
            }
        );
        assert!(
            b.check("a", Time::from_nanos(1_333_333_334), 1)
                .await
                .unwrap()
                .decision
                .is_allowed()
        );
        assert!(
            !b.check("a", Time::from_nanos(1_333_333_333), 1)
                .await
                .unwrap()
                .decision
                .is_allowed()
        );
    });
}

/// Limits, windows, costs and steps near the ranges the script keeps exact: products of the
/// counter compare well above 2^53, GCRA fractions with large rates, long windows.
fn large_spec() -> impl Strategy<Value = LimitSpec> {
    (
        algorithm(),
        1u64 << 30..1u64 << 45,
        1u64 << 40..1u64 << 51,
        proptest::option::of(1u64 << 30..1u64 << 46),
    )
        .prop_map(|(algorithm, limit, window, burst)| LimitSpec {
            algorithm,
            limit,
            window: Duration::from_nanos(window),
            burst,
        })
}

fn large_ops() -> impl Strategy<Value = Vec<(Op, i64, u64)>> {
    let op = prop_oneof![
        4 => Just(Op::Acquire),
        1 => Just(Op::Check),
        1 => Just(Op::Commit),
        1 => Just(Op::Refund),
    ];
    let step = prop_oneof![2 => Just(0i64), 4 => 0i64..1 << 50, 1 => -(1i64 << 48)..0];
    proptest::collection::vec((op, step, 0u64..1 << 46), 1..40)
}

#[test]
fn large_values_match_the_core_exactly() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    let store = rt.block_on(connect(server.config()));
    runner("proptest-regressions/differential-large.txt", 96)
        .run(&(large_spec(), start(), large_ops()), |(spec, t0, ops)| {
            rt.block_on(single_case(&store, spec, t0, &ops))
        })
        .unwrap();
}
