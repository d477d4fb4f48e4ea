//! Test parts that count what the engine holds: a limiter that tracks its outstanding
//! reservations, and the real budget gate on a small setup.

use spillway_core::Time;
use spillway_core::budget::{
    CapSpec, CapTarget, DegradationLadder, EstimateKind, LadderStep, ModelCatalogue, ModelSpec,
    OnExhausted, Period, PolicyBudget, PriceChange, StepAction,
};
use spillway_core::engine::{
    Admitted, EngineConfig, Limiter, SpendGate, SpendGateConfig, UpstreamConfig,
};
use spillway_core::keys::{KeyBudget, KeyPolicy, KeyRing, KeyRole, KeySpec, SecretSource};
use spillway_core::limit::{Demand, Denial, Layered, LayeredError, Reservation, Scope, Subject};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_core::{Duration, Time as T};

/// A small engine: `max_in_flight` calls on the wire, 8 requests inside, no deadlines, the
/// default queue, reactive upstream handling.
pub fn small_config(max_in_flight: u64) -> EngineConfig {
    EngineConfig {
        max_in_flight,
        max_requests: 8,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream: UpstreamConfig::reactive(BackoffConfig::default()),
    }
}

/// Layers that count reservations: admitted minus settled.
pub struct Counting {
    pub layers: Layered,
    pub outstanding: i64,
}

impl Limiter for Counting {
    type Placement = ();

    fn admit(
        &mut self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
        class: usize,
    ) -> Result<Result<Admitted<()>, Denial>, LayeredError> {
        let decision = Limiter::admit(&mut self.layers, now, subject, estimate, class)?;
        if let Ok(admitted) = decision {
            self.outstanding += 1;
            // Every other admission pays a store round trip: the engine holds it meanwhile.
            let delay = Duration::from_millis((self.outstanding % 2) as u64 * 5);
            return Ok(Ok(Admitted {
                ready_at: now.saturating_add(delay),
                ..admitted
            }));
        }
        Ok(decision)
    }

    fn settle(&mut self, now: Time, reservation: Reservation, _: (), actual: Demand) {
        self.outstanding -= 1;
        assert!(self.outstanding >= 0, "settled more than reserved");
        Layered::settle(&mut self.layers, now, reservation, actual);
    }
}

/// The test key's validity ends this many seconds into the run.
pub const KEY_EXPIRES_S: u64 = 20;

/// Nano-USD per million tokens for a price of one nano-USD per token.
const PER_TOKEN: u64 = 1_000_000;

/// The real budget gate on a small setup: a dear and a cheap model (half the price), a ladder
/// that degrades at 50 % and is exhausted at 100 %, a global hourly cap of `limit_nano_usd`
/// that holds (`hold`) or rejects when spent, and one key usable for the first 20 s (later
/// requests find no key). The hour resets 60 s into the run; holds ending after `horizon`
/// are refused. Cost: a nano-USD per token on the dear model.
pub fn gate(limit_nano_usd: u64, hold: bool, horizon: Option<Time>) -> SpendGate {
    let validity = (T::ZERO, KEY_EXPIRES_S);
    let primary = test_key("primary", KeyRole::Primary, validity, limit_nano_usd * 2);
    gate_with_keys(limit_nano_usd, hold, horizon, vec![primary])
}

/// A key of the gate's environment and service, valid from `not_before` until `expires_s`
/// seconds into the run, with a daily budget of `budget_nano_usd`.
pub fn test_key(
    name: &str,
    role: KeyRole,
    (not_before, expires_s): (Time, u64),
    budget_nano_usd: u64,
) -> KeySpec {
    KeySpec {
        name: name.into(),
        environment: "production".into(),
        service: "chat".into(),
        role,
        source: SecretSource::Env(name.to_uppercase()),
        not_before,
        expires_at: T::ZERO.saturating_add(Duration::from_secs(expires_s)),
        budget: Some(KeyBudget {
            period: Period::Day,
            limit_nano_usd: budget_nano_usd,
        }),
    }
}

/// [`gate`] with `keys` instead of its one key.
pub fn gate_with_keys(
    limit_nano_usd: u64,
    hold: bool,
    horizon: Option<Time>,
    keys: Vec<KeySpec>,
) -> SpendGate {
    let model = |name: &str, tier, price| ModelSpec {
        name: name.into(),
        tier,
        input_nano_usd_per_mtok: price,
        output_nano_usd_per_mtok: price,
        max_output_tokens: 50,
    };
    let catalogue = ModelCatalogue::new(vec![
        model("dear", 3, PER_TOKEN),
        model("cheap", 1, PER_TOKEN / 2),
    ])
    .expect("valid catalogue");
    let cheap = catalogue.id("cheap").expect("listed");
    let ladder = DegradationLadder::new(
        vec![
            LadderStep {
                at_per_mille: 500,
                action: StepAction::Use(cheap),
            },
            LadderStep {
                at_per_mille: 1000,
                action: StepAction::Exhausted,
            },
        ],
        &catalogue,
    )
    .expect("valid ladder");
    let cap = CapSpec {
        name: "hourly".into(),
        scope: Scope::Global,
        target: CapTarget::Each,
        period: Period::Hour,
        limit_nano_usd,
        on_exhausted: if hold {
            OnExhausted::Queue
        } else {
            OnExhausted::Reject
        },
    };
    // Each key its own secret (the ring refuses a secret shared by two keys).
    let keys = KeyRing::load(keys, KeyPolicy::default(), |source| {
        Ok(format!("sk-test-0123456789abcd-{source:?}"))
    })
    .expect("the keys load");
    let config = SpendGateConfig {
        catalogue: catalogue.clone(),
        keys,
        prices: vec![PriceChange {
            at: T::ZERO.saturating_add(Duration::from_secs(30)),
            model: catalogue.id("dear").expect("listed"),
            input_nano_usd_per_mtok: 2 * PER_TOKEN,
            output_nano_usd_per_mtok: 2 * PER_TOKEN,
        }],
        // One hour minus a minute: the hourly cap resets 60 s into the run.
        origin_unix_ns: 3_540 * 1_000_000_000,
        policy: PolicyBudget {
            requested: catalogue.id("dear").expect("listed"),
            ladder,
            estimate: EstimateKind::Learned,
            output_tokens: None,
            caps: vec![cap],
            environment: "production".into(),
            service: "chat".into(),
        },
        feature_medians: vec![10],
        pressure_per_mille: 500,
        horizon,
    };
    SpendGate::new(config).expect("valid gate")
}
