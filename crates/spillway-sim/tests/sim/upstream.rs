//! The client side towards the provider in whole runs: the thundering herd and jitter, the
//! 429 storm with proactive headroom and failover, and located errors in `upstream:` blocks.

use crate::{BASE, workspace};
use spillway_sim::metrics::PolicyMetrics;
use spillway_sim::scenario::{self, parse};
use spillway_sim::{RunOptions, run_policy};
use std::path::Path;

fn run_all(file: &str) -> Vec<PolicyMetrics> {
    run_every_policy(&scenario::load(&workspace().join("scenarios").join(file)).expect("valid"))
}

/// Every policy of `scenario`, in order, on its seed and duration.
fn run_every_policy(scenario: &scenario::Scenario) -> Vec<PolicyMetrics> {
    let options = RunOptions {
        seed: scenario.seed,
        duration: scenario.duration,
    };
    scenario
        .policies
        .iter()
        .map(|p| run_policy(scenario, p, &options, &mut |_| {}).expect("runs"))
        .collect()
}

fn by_name<'a>(runs: &'a [PolicyMetrics], name: &str) -> &'a PolicyMetrics {
    runs.iter()
        .find(|r| r.policy == name)
        .expect("policy exists")
}

fn assert_conserved(run: &PolicyMetrics) {
    let t = run.total();
    assert_eq!(
        t.admitted,
        t.shed + t.abandoned + t.completed + t.failed + t.unfinished,
        "{}: requests waiting in retry timers are accounted for",
        run.policy
    );
    assert!(t.upstream.wasted_calls >= t.upstream_429);
    assert!(t.upstream.retry_successes <= t.retries);
}

#[test]
fn jitter_breaks_up_the_herd_and_a_proactive_gateway_avoids_it() {
    let runs = run_all("thundering-herd.yaml");
    runs.iter().for_each(assert_conserved);
    let herd = |name: &str| by_name(&runs, name).total().upstream_429;
    assert!(
        herd("full-jitter") * 3 < herd("no-jitter") * 2,
        "full jitter: {} 429s, no jitter: {}",
        herd("full-jitter"),
        herd("no-jitter")
    );
    assert!(herd("decorrelated-jitter") < herd("no-jitter"));
    assert!(herd("equal-jitter") < herd("no-jitter"));
    let proactive = by_name(&runs, "proactive").total();
    assert_eq!(
        proactive.upstream_429, 0,
        "headroom and Retry-After prevent every 429"
    );
    assert!(proactive.failed < by_name(&runs, "full-jitter").total().failed);
}

#[test]
fn proactive_headroom_and_failover_weather_the_429_storm() {
    let runs = run_all("429-storm.yaml");
    runs.iter().for_each(assert_conserved);
    let reactive = by_name(&runs, "reactive-backoff").total();
    let proactive = by_name(&runs, "proactive-headroom").total();
    let failover = by_name(&runs, "proactive+fallback").total();
    assert!(reactive.upstream_429 > 100, "{}", reactive.upstream_429);
    assert!(reactive.upstream.escalations > 0);
    assert!(proactive.upstream_429 * 10 < reactive.upstream_429);
    // The local model tracks the key's real remaining quota closely.
    let error = proactive
        .upstream
        .quota_error_pct()
        .expect("proactive samples");
    assert!(error < 5.0, "quota error {error} %");
    assert_eq!(reactive.upstream.quota_error_pct(), None);
    // Failover moves the backlog elsewhere: fewer slow requests, at the fallback's prices.
    assert!(failover.upstream.fallback_calls > 0);
    assert!(failover.latency.quantile(0.99) < proactive.latency.quantile(0.99));
    assert!(failover.cost_nano_usd > proactive.cost_nano_usd);
}

fn errors_of(text: &str) -> Vec<String> {
    match parse(Path::new("bad.yaml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn with_upstream(block: &str) -> String {
    format!("{BASE}    upstream:\n{block}")
}

#[test]
fn a_cap_below_the_base_is_a_located_error() {
    let errors = errors_of(&with_upstream(
        "      retry: { strategy: full-jitter, base: 10s, cap: 1s }\n",
    ));
    assert!(
        errors[0].contains("cap") && errors[0].contains("base"),
        "{errors:?}"
    );
    assert!(errors[0].starts_with("bad.yaml:"), "{errors:?}");
}

/// `retry.max_retry_after` sets the longest Retry-After waited for; without it (or without a
/// `retry:` block) the bound is `DEFAULT_MAX_RETRY_AFTER`; a bad duration is a located error.
#[test]
fn max_retry_after_defaults_to_the_sdk_bound_and_can_be_set() {
    let longest = |block: &str| {
        let text = with_upstream(block);
        let s = parse(Path::new("ok.yaml"), &text).unwrap_or_else(|e| panic!("{e}"));
        s.policies[0].upstream.backoff.max_retry_after()
    };
    let default = Some(spillway_core::upstream::DEFAULT_MAX_RETRY_AFTER);
    assert_eq!(longest("      coordinated: true\n"), default);
    assert_eq!(longest("      retry: { strategy: constant }\n"), default);
    assert_eq!(
        longest("      retry: { max_retry_after: 1h }\n"),
        Some(spillway_core::Duration::from_secs(3_600))
    );
    let errors = errors_of(&with_upstream("      retry: { max_retry_after: soon }\n"));
    assert!(errors[0].starts_with("bad.yaml:"), "{errors:?}");
}

#[test]
fn an_unknown_strategy_lists_the_strategies() {
    let errors = errors_of(&with_upstream("      retry: { strategy: fibonacci }\n"));
    assert!(errors[0].contains("decorrelated-jitter"), "{errors:?}");
    assert!(errors[0].contains("upstream.retry.strategy"), "{errors:?}");
}

#[test]
fn fallback_needs_a_fallback_provider() {
    let errors = errors_of(&with_upstream("      fallback: true\n"));
    assert!(errors[0].contains("fallback_provider"), "{errors:?}");
}

#[test]
fn proactive_needs_a_coordinating_gateway() {
    let errors = errors_of(&with_upstream(
        "      coordinated: false\n      proactive: { margin_pct: 5 }\n",
    ));
    assert!(errors[0].contains("coordinated"), "{errors:?}");
}

#[test]
fn max_attempts_is_given_once() {
    let text = BASE.replace(
        "    layers: [per-user]\n",
        "    layers: [per-user]\n    max_attempts: 3\n    upstream:\n      retry: { max_attempts: 5 }\n",
    );
    let errors = errors_of(&text);
    assert!(errors[0].contains("not both"), "{errors:?}");
}

/// Twice the provider's 60 RPM, a `retry-after` on every 429 (refused calls count, so the
/// hints grow past the default 120 s bound: the honouring client waits up to an hour); the
/// policies differ only in how their clients use it.
const IGNORERS: &str = "seed: 4\nduration: 5m\ndrain: 5m\nprovider:\n  name: p\n  kind: openai\n  rpm: 60\n  tpm: 10000000\n  retry_after_probability: 1.0\n  latency: { base: 100ms }\ntraffic:\n  groups:\n    - name: g\n      users: 20\n      class: standard\n      arrival: { poisson: { rate: 6/min } }\n      input_tokens: { median: 100, sigma: 0 }\n      output_tokens: { median: 10, sigma: 0 }\npolicies:\n  - name: honours\n    upstream:\n      coordinated: false\n      retry: { strategy: constant, base: 100ms, max_attempts: 4, max_retry_after: 1h }\n  - name: ignores\n    upstream:\n      coordinated: false\n      retry: { strategy: constant, base: 100ms, max_attempts: 4, honor_retry_after: false }\n  - name: sdk\n    upstream: { client: openai-python }\n";

#[test]
fn a_client_that_ignores_retry_after_burns_its_attempts_and_fails_more() {
    let s = parse(Path::new("ignorers.yaml"), IGNORERS).unwrap_or_else(|e| panic!("{e}"));
    let runs = run_every_policy(&s);
    runs.iter().for_each(assert_conserved);
    let (honours, ignores) = (
        by_name(&runs, "honours").total(),
        by_name(&runs, "ignores").total(),
    );
    assert!(
        ignores.failed > honours.failed,
        "ignoring: {} failed, honouring: {}",
        ignores.failed,
        honours.failed
    );
    assert!(ignores.upstream_429 > honours.upstream_429);
    let sdk = &s.policies[2].upstream;
    assert_eq!(sdk.backoff.max_attempts(), 3, "openai-python: 2 retries");
    assert!(!sdk.coordinated, "each SDK request retries on its own");
    assert!(by_name(&runs, "sdk").total().completed > 0);
}

#[test]
fn clients_are_named_presets_and_exclude_a_retry_block() {
    let errors = errors_of(&with_upstream("      client: openai-java\n"));
    assert!(errors[0].contains("`openai-python`"), "{errors:?}");
    assert!(errors[0].contains("upstream.client"), "{errors:?}");
    let errors = errors_of(&with_upstream(
        "      client: anthropic-python\n      retry: { strategy: none }\n",
    ));
    assert!(errors[0].contains("not both"), "{errors:?}");
}

#[test]
fn in_the_aws_contention_setting_jitter_cuts_the_work_and_the_time() {
    let runs = run_all("contention.yaml");
    runs.iter().for_each(assert_conserved);
    let t = |name: &str| by_name(&runs, name).total();
    let finish = |name: &str| t(name).latency_all.max();
    for jitter in ["full-jitter", "equal-jitter", "decorrelated-jitter"] {
        assert_eq!(t(jitter).completed, 100, "{jitter}");
        // Without jitter the clients collide every round: one success per round.
        assert!(
            t(jitter).upstream_calls * 3 < t("exponential").upstream_calls,
            "{jitter}: {} calls vs exponential {}",
            t(jitter).upstream_calls,
            t("exponential").upstream_calls
        );
        assert!(
            finish(jitter).saturating_mul(10) < finish("exponential"),
            "{jitter}"
        );
    }
    assert_eq!(t("exponential").upstream_calls, 5_050, "100 + 99 + … + 1");
    // The SDK's 3 attempts: most clients give up, and p99 of the survivors hides them.
    let sdk = t("openai-python");
    assert!(sdk.failed > sdk.completed, "{} failed", sdk.failed);
    assert!(sdk.latency_all.count() == 100);
}

/// An OpenAI provider that hints only in the error body ("Please try again in 84ms") when
/// `retry_after_probability` is 0, and in a `retry-after` header too when it is 1.
fn body_or_header_hints(probability: &str) -> String {
    IGNORERS
        .replace(
            "retry_after_probability: 1.0",
            &format!("retry_after_probability: {probability}"),
        )
        .replace(
            "  - name: honours\n    upstream:\n      coordinated: false\n      retry: { strategy: constant, base: 100ms, max_attempts: 4, max_retry_after: 1h }\n  - name: ignores\n",
            "  - name: blind-sdk\n",
        )
        .replace(
            "strategy: constant, base: 100ms, max_attempts: 4, honor_retry_after: false",
            "strategy: sdk-jitter, base: 500ms, cap: 8s, max_attempts: 3, honor_retry_after: false",
        )
}

/// The openai-python preset reads hints from headers only, as the SDK does: against a
/// provider that hints only in the body it behaves exactly like the same backoff that
/// ignores every hint (same draws, same outcome), and differently once a header is sent.
#[test]
fn an_sdk_preset_never_sees_a_hint_written_only_in_the_body() {
    let outcome = |probability: &str| {
        let text = body_or_header_hints(probability);
        let s = parse(Path::new("hints.yaml"), &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.policies.len(), 2, "{text}");
        let totals: Vec<_> = run_every_policy(&s)
            .iter()
            .map(|run| {
                let t = run.total();
                (t.upstream_calls, t.upstream_429, t.failed, t.latency.max())
            })
            .collect();
        assert!(totals[0].1 > 0, "the provider refuses some calls");
        (totals[0], totals[1])
    };
    let (blind, sdk) = outcome("0.0");
    assert_eq!(
        sdk, blind,
        "body-only hints: the SDK backs off as if none was sent"
    );
    let (blind, sdk) = outcome("1.0");
    assert_ne!(sdk, blind, "a header hint is obeyed");
}
