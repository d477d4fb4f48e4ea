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

#[test]
fn an_mmc_scenario_matches_erlang_c() {
    // λ = 3/s (300 users × 0.6/min), μ = 1/s, c = 4: ρ = 0.75, Erlang C Wq = 0.509 s.
    let text = "duration: 3h\ndrain: 10m\nseed: 3\nprovider:\n  name: mm4\n  kind: unlimited\n  concurrency: 4\n  latency: { model: exponential, mean: 1s }\ntraffic:\n  groups:\n    - name: g\n      users: 300\n      class: batch\n      arrival: { poisson: { rate: 0.6/min } }\n      input_tokens: { median: 10, sigma: 0 }\n      output_tokens: { median: 10, sigma: 0 }\npolicies:\n  - name: fifo\n";
    let s = parse(Path::new("mmc.yaml"), text).unwrap_or_else(|e| panic!("{e}"));
    let options = spillway_sim::RunOptions {
        seed: s.seed,
        duration: s.duration,
    };
    let m = spillway_sim::run_policy(&s, &s.policies[0], &options, &mut |_| {}).expect("runs");
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
