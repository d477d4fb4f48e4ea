//! The scenario and the runs shared by the tests.

use spillway_core::Duration;
use spillway_emulate::TimeScale;
use spillway_load::{Ending, LoadConfig, Observed, Observer, Plan};
use spillway_sim::scenario::Scenario;
use std::path::Path;

/// `scenarios/sim-vs-real.yaml`, the scenario of the sim-vs-real table.
pub fn scenario() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/sim-vs-real.yaml");
    spillway_sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// A config posting to `url` at `scale`, `timeout_ms` real per call.
pub fn config(url: &str, scale: &str, timeout_ms: u64) -> LoadConfig {
    LoadConfig {
        url: reqwest::Url::parse(url).expect("url"),
        model: "gpt-test".to_string(),
        scale: TimeScale::parse(scale).expect("scale"),
        max_in_flight: 64,
        timeout: std::time::Duration::from_millis(timeout_ms),
    }
}

/// Replay `duration` of `scenario` (seed 7) with `config`, to the end.
pub async fn replay(scenario: &Scenario, duration: Duration, config: &LoadConfig) -> Observed {
    let plan = Plan::new(scenario, 7, duration);
    let observer = Observer::new("provider-only", scenario.provider.price, 600);
    let (observed, ending) = spillway_load::run(
        plan,
        config,
        observer,
        &mut |_| {},
        std::future::pending::<()>(),
    )
    .await
    .expect("client builds");
    assert_eq!(ending, Ending::Complete);
    observed
}
