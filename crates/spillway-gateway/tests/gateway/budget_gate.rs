//! A real budget gate on the wall clock for the layer's tests: a dear model asked for and a
//! cheap one, an ample daily cap, and one upstream key.

use spillway_core::budget::{
    CapSpec, CapTarget, DegradationLadder, EstimateKind, LadderStep, ModelCatalogue, ModelId,
    ModelSpec, OnExhausted, Period, PolicyBudget, StepAction,
};
use spillway_core::clock::{Clock, WallClock};
use spillway_core::engine::{SpendGate, SpendGateConfig};
use spillway_core::keys::{KeyId, KeyPolicy, KeyRing, KeyRole, KeySpec, SecretSource};
use spillway_core::limit::Scope;
use spillway_core::{Duration, Time};

/// The keys' environment and service (not production: one key is enough there).
pub const ENVIRONMENT: &str = "test";
pub const SERVICE: &str = "chat";

/// The id of the gate's one key, as `api_key`-scoped layers see it.
pub fn key_id() -> u64 {
    KeyId::derive(ENVIRONMENT, SERVICE, "primary").0
}

/// The cheap model's id.
pub const CHEAP: ModelId = ModelId(1);

/// The gate; with `degrade`, its ladder sends every request to the cheap model (from 0 ‰ of
/// the cap), else it has no ladder.
pub fn gate(degrade: bool) -> SpendGate {
    gate_with(degrade, keys())
}

/// [`gate`] with the upstream keys of `keys`.
pub fn gate_with(degrade: bool, keys: KeyRing) -> SpendGate {
    let model = |name: &str, tier, price| ModelSpec {
        name: name.into(),
        tier,
        input_nano_usd_per_mtok: price,
        output_nano_usd_per_mtok: price,
        max_output_tokens: 50,
    };
    let catalogue = ModelCatalogue::new(vec![
        model("dear", 3, 1_000_000),
        model("cheap", 1, 500_000),
    ])
    .expect("valid catalogue");
    assert_eq!(catalogue.id("cheap"), Some(CHEAP));
    let steps = if degrade {
        vec![LadderStep {
            at_per_mille: 0,
            action: StepAction::Use(CHEAP),
        }]
    } else {
        vec![]
    };
    let ladder = DegradationLadder::new(steps, &catalogue).expect("valid ladder");
    let cap = CapSpec {
        name: "daily".into(),
        scope: Scope::Global,
        target: CapTarget::Each,
        period: Period::Day,
        limit_nano_usd: 1_000_000_000,
        on_exhausted: OnExhausted::Reject,
    };
    let config = SpendGateConfig {
        catalogue: catalogue.clone(),
        keys,
        prices: vec![],
        origin_unix_ns: 0,
        policy: PolicyBudget {
            requested: catalogue.id("dear").expect("listed"),
            ladder,
            estimate: EstimateKind::Fixed,
            output_tokens: None,
            caps: vec![cap],
            environment: ENVIRONMENT.into(),
            service: SERVICE.into(),
        },
        feature_medians: vec![10],
        pressure_per_mille: 500,
        horizon: None,
    };
    SpendGate::new(config).expect("valid gate")
}

/// One key, valid from a day ago for 30 days (the gate runs on the wall clock).
fn keys() -> KeyRing {
    let now = WallClock::new().now();
    let day = Duration::from_secs(86_400);
    let since = Time::from_nanos(now.as_nanos() - day.as_nanos());
    let primary = KeySpec {
        name: "primary".into(),
        environment: ENVIRONMENT.into(),
        service: SERVICE.into(),
        role: KeyRole::Primary,
        source: SecretSource::Env("PRIMARY".into()),
        not_before: since,
        expires_at: since.saturating_add(Duration::from_secs(30 * 86_400)),
        budget: None,
    };
    KeyRing::load(vec![primary], KeyPolicy::default(), |_| {
        Ok("sk-test-0123456789abcd-primary".into())
    })
    .expect("the key loads")
}
