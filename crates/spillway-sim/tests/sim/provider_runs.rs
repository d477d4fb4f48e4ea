//! Whole runs against emulated providers: an M/M/c scenario matches queueing theory, and a
//! failing, shared provider loses no request.

use crate::provider_profiles::scenario_with;
use crate::workspace;
use spillway_sim::scenario::parse;
use std::path::Path;

/// Erlang C: the mean wait in queue of M/M/c with offered load `a` = λ/μ and mean service
/// `service_s`.
fn erlang_c_mean_wait_s(c: u32, a: f64, service_s: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut below = 0.0;
    for k in 0..c {
        below += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    let p_wait = top / (below + top);
    p_wait * service_s / (f64::from(c) - a)
}

/// The first policy of the inline scenario `text`, run with its own seed and duration.
fn run_first(name: &str, text: &str) -> spillway_sim::metrics::PolicyMetrics {
    let s = parse(Path::new(name), text).unwrap_or_else(|e| panic!("{e}"));
    let options = spillway_sim::RunOptions {
        seed: s.seed,
        duration: s.duration,
    };
    spillway_sim::run_policy(&s, &s.policies[0], &options, &mut |_| {}).expect("runs")
}

#[test]
fn an_mmc_scenario_matches_erlang_c() {
    // λ = 3/s (300 users × 0.6/min), μ = 1/s, c = 4: ρ = 0.75, Erlang C Wq = 0.509 s.
    let text = "duration: 3h\ndrain: 10m\nseed: 3\nprovider:\n  name: mm4\n  kind: unlimited\n  concurrency: 4\n  latency: { model: exponential, mean: 1s }\ntraffic:\n  groups:\n    - name: g\n      users: 300\n      class: batch\n      arrival: { poisson: { rate: 0.6/min } }\n      input_tokens: { median: 10, sigma: 0 }\n      output_tokens: { median: 10, sigma: 0 }\npolicies:\n  - name: fifo\n";
    let m = run_first("mmc.yaml", text);
    let batch = &m.classes[2];
    assert!(batch.completed > 30_000, "{}", batch.completed);
    let wait_s = batch.wait.mean_ns() / 1e9;
    let expected = erlang_c_mean_wait_s(4, 3.0, 1.0);
    assert!((expected - 0.509).abs() < 0.001, "{expected}");
    // ~32k customers: the sample mean is within a few percent (it fails if c or the
    // service distribution were off: M/D/4 waits ~0.27 s, 3 servers never settle).
    assert!(
        (wait_s - expected).abs() < 0.05,
        "simulated {wait_s} s vs Erlang C {expected} s"
    );
    // The exact means: every completed request's latency is its wait plus its service.
    let mean_wait = batch.mean_wait_ms().expect("waits") / 1e3;
    assert!((mean_wait - wait_s).abs() < 0.01, "{mean_wait} vs {wait_s}");
    let service = batch.mean_service_ms().expect("calls") / 1e3;
    let latency = batch.latency.mean_ns() / 1e9;
    assert!(
        (mean_wait + service - latency).abs() < 0.01 * latency,
        "wait {mean_wait} + service {service} vs latency {latency}"
    );
}

#[test]
fn a_client_that_retries_at_once_still_advances_time_by_the_error_latency() {
    // Every call falls in an outage; no backoff; each 503 takes 1 s to come back, so each
    // request fails at its fifth answer, 5 s after it arrived (before: all at its arrival).
    let text = "duration: 1m\ndrain: 1m\nseed: 3\nprovider:\n  name: down\n  kind: openai\n  rpm: 100\n  tpm: 1000000\n  latency: { base: 1ms }\n  error_latency: 1s\n  outages: [{ start: 0s, duration: 1h, status: 503 }]\ntraffic:\n  groups:\n    - name: g\n      users: 9\n      class: batch\n      arrival: { poisson: { rate: 1/min } }\n      input_tokens: { median: 10, sigma: 0 }\n      output_tokens: { median: 10, sigma: 0 }\npolicies:\n  - name: none\n    max_in_flight: 100\n    upstream:\n      coordinated: false\n      retry: { strategy: none, max_attempts: 5 }\n";
    let m = run_first("none.yaml", text);
    let batch = &m.classes[2];
    assert!(batch.failed > 0, "{batch:?}");
    assert_eq!(batch.failed, batch.admitted);
    assert_eq!(batch.upstream_calls, 5 * batch.failed);
    let five = spillway_core::Duration::from_secs(5);
    assert_eq!(batch.latency_all.max(), five);
    // The histogram's lowest bucket holding 5 s (0.1 % precision).
    assert!(batch.latency_all.quantile(0.0) >= spillway_core::Duration::from_millis(4_990));
    assert_eq!(batch.latency.count(), 0, "none completed");
}

#[test]
fn a_run_against_a_failing_shared_anthropic_profile_accounts_for_every_request() {
    let provider = "provider:\n  profile: anthropic-tier1-claude-sonnet-4\n  outages: [{ start: 1m, duration: 30s, status: 500 }]\n  shared_quota: [{ start: 0s, duration: 5m, fraction: 0.5 }]\n";
    let text = scenario_with(provider).replace("duration: 30s", "duration: 5m");
    let s = parse(&workspace().join("scenarios/run.yaml"), &text).unwrap_or_else(|e| panic!("{e}"));
    let options = spillway_sim::RunOptions {
        seed: 2,
        duration: s.duration,
    };
    let m = spillway_sim::run_policy(&s, &s.policies[0], &options, &mut |_| {}).expect("runs");
    let t = m.total();
    assert_eq!(t.offered, t.admitted + t.rejected);
    assert_eq!(t.admitted, t.shed + t.completed + t.failed + t.unfinished);
    assert!(t.completed > 0 && t.upstream_429 > 0, "{t:?}");
}
