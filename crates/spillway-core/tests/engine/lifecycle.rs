//! A request's whole life under random inputs: Retry-After respected, conservation, nothing
//! left held after draining, bounds kept.

use super::parts::{Counting, KEY_EXPIRES_S, gate};
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::engine::{
    Admission, Completion, Departure, Engine, EngineConfig, EngineEvent, RequestId, RequestMeta,
    Response, SpendGate, SpendRefusal, UpstreamConfig,
};
use spillway_core::limit::{Algorithm, LayerSpec, Layered, LimitSpec, Scope, Unit};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_core::{Duration, Time};
use std::collections::BTreeSet;

const MAX_IN_FLIGHT: u64 = 3;

/// The budget gate's parameters (see [`gate`]).
#[derive(Debug, Clone, Copy)]
struct Budget {
    limit_nano_usd: u64,
    hold: bool,
    horizon: Option<Time>,
}
const MAX_REQUESTS: usize = 12;

/// One input from the outside world.
#[derive(Debug, Clone)]
enum Op {
    Request {
        user: u64,
        class: usize,
        tokens: u64,
    },
    /// Answer the `pick`-th call awaiting an answer: 200, 429 (Retry-After ms) or 500.
    Respond {
        pick: usize,
        status: u16,
        retry_ms: Option<u64>,
    },
    /// Finish the `pick`-th streaming call.
    Complete { pick: usize, failed: bool },
    /// Cancel the `pick`-th request ever accepted (maybe long gone).
    Cancel { pick: usize },
    /// Let time pass, firing every due timer.
    Advance { ms: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..4, 0usize..4, 1u64..400)
            .prop_map(|(user, class, tokens)| Op::Request { user, class, tokens }),
        3 => (any::<usize>(), prop_oneof![Just(200u16), Just(429), Just(500)], proptest::option::of(0u64..3000))
            .prop_map(|(pick, status, retry_ms)| Op::Respond { pick, status, retry_ms }),
        2 => (any::<usize>(), proptest::bool::weighted(0.1))
            .prop_map(|(pick, failed)| Op::Complete { pick, failed }),
        1 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        2 => (0u64..4000).prop_map(|ms| Op::Advance { ms }),
    ]
}

type TestEngine = Engine<u64, Counting, SpendGate, ChaCha8Rng>;

fn engine(seed: u64, budget: Budget, deadline: bool) -> TestEngine {
    let layer = LayerSpec {
        name: "per-user".into(),
        scope: Scope::User,
        unit: Unit::Requests,
        limit: LimitSpec {
            algorithm: Algorithm::TokenBucket,
            limit: 5,
            window: Duration::from_secs(10),
            burst: None,
        },
    };
    let mut upstream = UpstreamConfig::reactive(BackoffConfig::default());
    upstream.retry_budget_pct = Some(50);
    let scheduler = SchedulerConfig {
        capacity: Some(6),
        ..SchedulerConfig::default()
    };
    let config = EngineConfig {
        max_in_flight: MAX_IN_FLIGHT,
        max_requests: MAX_REQUESTS,
        deadlines: vec![deadline.then(|| Duration::from_secs(5)); 4],
        scheduler,
        upstream,
    };
    let limiter = Counting {
        layers: Layered::new(vec![layer]).expect("valid layer"),
        outstanding: 0,
    };
    let rng = |s| ChaCha8Rng::seed_from_u64(s);
    Engine::new(
        config,
        limiter,
        gate(budget.limit_nano_usd, budget.hold, budget.horizon),
        rng(seed),
        rng(!seed),
    )
    .expect("valid scheduler")
}

/// The world around the engine, and what it checks.
#[derive(Default)]
struct World {
    now: Time,
    accepted: Vec<RequestId>,
    live: BTreeSet<RequestId>,
    departed: BTreeSet<RequestId>,
    /// Calls sent and not answered yet.
    wire: Vec<RequestId>,
    /// Calls answered 200, still streaming.
    streaming: Vec<RequestId>,
    /// Every request whose call was answered 200 (the provider bills it).
    answered: BTreeSet<RequestId>,
    /// No send may go before this (the latest Retry-After heard).
    gate: Time,
    /// The budget's setup, against which its events are checked.
    budget: Option<Budget>,
}

impl World {
    /// Drain dispatches and events after every input, checking as it goes.
    fn pump(&mut self, e: &mut TestEngine) -> Result<(), TestCaseError> {
        while let Some(d) = e.poll_dispatch(self.now) {
            prop_assert!(
                self.now >= self.gate,
                "sent at {:?} before Retry-After {:?}",
                self.now,
                self.gate
            );
            prop_assert!(self.live.contains(&d.id), "dispatched a request not inside");
            self.wire.push(d.id);
        }
        prop_assert!(e.in_flight() <= MAX_IN_FLIGHT);
        prop_assert!(e.len() <= MAX_REQUESTS);
        let waiting: usize = (0..4).map(|c| e.held_in(c) + e.queued_in(c)).sum();
        prop_assert!(
            waiting <= e.len(),
            "{waiting} held or queued of {}",
            e.len()
        );
        while let Some(event) = e.poll_event() {
            self.check_budget_event(&event)?;
            if let EngineEvent::Departed { id, .. } = event {
                prop_assert!(self.live.remove(&id), "departed twice or never accepted");
                prop_assert!(self.departed.insert(id));
            }
        }
        prop_assert_eq!(
            e.len(),
            self.live.len(),
            "engine and world disagree on who is inside"
        );
        let on_wire = self
            .wire
            .iter()
            .chain(&self.streaming)
            .filter(|id| self.live.contains(id));
        prop_assert_eq!(
            e.in_flight(),
            on_wire.count() as u64,
            "calls in flight miscounted"
        );
        Ok(())
    }

    /// A hold only under a holding cap and within the horizon; "no key" only once the only
    /// key has expired; a call billed without completing only if the provider accepted it.
    fn check_budget_event(&self, event: &EngineEvent<u64>) -> Result<(), TestCaseError> {
        let Some(budget) = self.budget else {
            return Ok(());
        };
        match *event {
            EngineEvent::Billed { id, settlement, .. } => {
                prop_assert!(self.answered.contains(&id), "billed a call never accepted");
                prop_assert!(settlement.actual_nano_usd > 0, "booked nothing");
            }
            EngineEvent::Held { until, .. } => {
                prop_assert!(budget.hold, "held under a rejecting cap");
                prop_assert!(
                    budget.horizon.is_none_or(|h| until <= h),
                    "held past the horizon"
                );
                prop_assert!(until > self.now, "held until the past");
            }
            EngineEvent::BudgetRefused {
                why: SpendRefusal::NoKey,
                ..
            } => {
                prop_assert!(self.now >= Time::from_nanos(KEY_EXPIRES_S * 1_000_000_000));
            }
            _ => {}
        }
        Ok(())
    }

    fn apply(&mut self, e: &mut TestEngine, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Request {
                user,
                class,
                tokens,
            } => {
                let meta = RequestMeta {
                    user,
                    team: 0,
                    feature: 0,
                    class,
                    input_tokens: tokens,
                    output_estimate: 10,
                    max_tokens: 10,
                    payload: tokens,
                };
                if let Admission::Accepted(id) = e.on_request(self.now, meta) {
                    prop_assert!(self.live.insert(id));
                    self.accepted.push(id);
                }
            }
            Op::Respond {
                pick,
                status,
                retry_ms,
            } => {
                if self.wire.is_empty() {
                    return Ok(());
                }
                let id = self.wire.remove(pick % self.wire.len());
                let retry_after = retry_ms.map(Duration::from_millis);
                if let (true, 429, Some(wait)) = (self.live.contains(&id), status, retry_after) {
                    self.gate = self.gate.max(self.now.saturating_add(wait));
                }
                let response = Response {
                    accepted: status == 200,
                    status,
                    retry_after,
                    body_retry_after: None,
                    snapshot: None,
                };
                e.on_response(self.now, id, &response);
                if status == 200 {
                    self.streaming.push(id);
                    self.answered.insert(id);
                }
            }
            Op::Complete { pick, failed } => {
                if self.streaming.is_empty() {
                    return Ok(());
                }
                let id = self.streaming.remove(pick % self.streaming.len());
                let done = Completion {
                    input_tokens: 5,
                    output_tokens: 7,
                    failed,
                };
                e.on_complete(self.now, id, done);
            }
            Op::Cancel { pick } => {
                if let Some(&id) = self.accepted.get(pick % self.accepted.len().max(1)) {
                    let inside = e.on_cancel(self.now, id);
                    prop_assert_eq!(inside, self.live.contains(&id));
                }
            }
            Op::Advance { ms } => {
                let until = self.now.saturating_add(Duration::from_millis(ms));
                while let Some(t) = e.poll_timeout().filter(|t| *t <= until) {
                    self.now = self.now.max(t);
                    e.handle_timeout(self.now);
                    self.pump(e)?;
                }
                self.now = until;
            }
        }
        self.pump(e)
    }
}

proptest! {
    #![proptest_config(crate::config("lifecycle", 256))]

    #[test]
    fn every_request_leaves_once_and_releases_everything(
        seed in any::<u64>(),
        limit_nano_usd in 100u64..5_000,
        hold in any::<bool>(),
        horizon_s in proptest::option::of(0u64..120),
        deadline in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let horizon = horizon_s.map(|s| Time::from_nanos(s * 1_000_000_000));
        let budget = Budget { limit_nano_usd, hold, horizon };
        let mut e = engine(seed, budget, deadline);
        let mut world = World { budget: Some(budget), ..World::default() };
        for op in &ops {
            world.apply(&mut e, op)?;
        }
        e.drain(world.now);
        let mut unfinished = 0;
        while let Some(event) = e.poll_event() {
            world.check_budget_event(&event)?;
            if let EngineEvent::Departed { id, how, .. } = event {
                prop_assert_eq!(how, Departure::Unfinished);
                prop_assert!(world.live.remove(&id), "departed twice or never accepted");
                unfinished += 1;
            }
        }
        prop_assert!(world.live.is_empty(), "{} requests never left", world.live.len());
        prop_assert_eq!(world.departed.len() + unfinished, world.accepted.len());
        prop_assert!(e.is_empty());
        prop_assert!((0..4).all(|c| e.held_in(c) == 0), "held after draining");
        prop_assert_eq!(e.in_flight(), 0);
        prop_assert_eq!(e.poll_timeout(), None);
        prop_assert_eq!(e.poll_dispatch(world.now).map(|d| d.id), None);
        let (limiter, spend) = e.into_parts();
        prop_assert_eq!(limiter.outstanding, 0, "limiter reservations left");
        prop_assert_eq!(spend.budget().ledger.reserved_nano_usd(), 0, "budget reservations left");
    }
}
