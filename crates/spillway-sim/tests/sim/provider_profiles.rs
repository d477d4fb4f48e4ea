//! Provider profiles: headers round-trip through the core parser to the true quota, the
//! shipped library is valid and resolvable, bad profiles get located errors, and no config
//! or call panics.

use crate::providers::provider;
use crate::workspace;
use proptest::prelude::*;
use spillway_core::upstream::headers::{Dimension, Provider, parse_headers};
use spillway_core::{Duration, Time};
use spillway_sim::provider::{CallRequest, EmulatedProvider, KindSpec, QuotaTruth};
use spillway_sim::scenario::provider::load_library;
use spillway_sim::scenario::{ScenarioError, parse};
use std::path::{Path, PathBuf};

const REQ: CallRequest = CallRequest {
    input_tokens: 700,
    max_tokens: 300,
    output_tokens: 120,
};

/// Drive a provider for a while, then compare what its headers say to its truth.
fn round_trip(block: &str, expect: Provider, tolerance: Duration, remaining_slack: i64) {
    let spec = provider(block);
    let mut p = EmulatedProvider::new(&spec, 5);
    for i in 0..400u64 {
        let t = Time::from_nanos(i * 37_000_000);
        let answer = p.call(t, &REQ);
        let snap = parse_headers(answer.headers(), Provider::Auto, None);
        assert!(snap.errors.is_empty(), "{:?}", snap.errors);
        assert_eq!(snap.provider, expect, "{}", answer.header_text());
        let truth: Vec<QuotaTruth> = p.truth(t);
        let mut compared = 0;
        for q in &truth {
            let Some(dim) = snap.dim(&q.dimension) else {
                continue;
            };
            compared += 1;
            assert_eq!(dim.limit, Some(q.limit), "{:?}", q.dimension);
            let said = dim.remaining.expect("remaining");
            let truth_left = q.remaining.max(0);
            assert!(
                (said - truth_left).abs() <= remaining_slack,
                "{:?}: said {said}, truth {truth_left}",
                q.dimension
            );
            let reset = dim.reset_after.expect("reset").as_nanos() as i128;
            let diff = (reset - q.reset_after.as_nanos() as i128).abs();
            assert!(
                diff <= tolerance.as_nanos() as i128,
                "{:?}: reset {reset} vs {:?}\n{}",
                q.dimension,
                q.reset_after,
                answer.header_text()
            );
        }
        assert!(compared >= 1, "{}", answer.header_text());
    }
}

#[test]
fn openai_headers_parse_back_to_the_truth_to_the_millisecond() {
    round_trip(
        "  name: o\n  kind: openai\n  rpm: 60\n  tpm: 40000\n  rpd: 100000\n  count_rejected: false\n  latency: { base: 2s }",
        Provider::OpenAi,
        Duration::from_millis(1),
        0,
    );
}

#[test]
fn anthropic_headers_parse_back_within_a_second_and_a_thousand_tokens() {
    round_trip(
        "  name: a\n  kind: anthropic\n  rpm: 50\n  itpm: 30000\n  otpm: 8000\n  latency: { base: 2s }",
        Provider::Anthropic,
        Duration::from_secs(1),
        500,
    );
}

#[test]
fn azure_headers_parse_back_within_a_second() {
    round_trip(
        "  name: z\n  kind: azure\n  rpm: 600\n  tpm: 60000\n  latency: { base: 2s }",
        Provider::Azure,
        Duration::from_secs(1),
        0,
    );
}

#[test]
fn anthropic_total_tokens_header_is_input_plus_output() {
    let spec = provider(
        "  name: a\n  kind: anthropic\n  rpm: 50\n  itpm: 80000\n  otpm: 16000\n  latency: { base: 1s }",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    let snap = parse_headers(p.call(Time::ZERO, &REQ).headers(), Provider::Auto, None);
    assert_eq!(
        snap.dim(&Dimension::Tokens).and_then(|d| d.limit),
        Some(96_000)
    );
}

#[test]
fn every_shipped_profile_is_valid_and_has_its_documented_limits() {
    let lib = load_library(&workspace().join("scenarios/providers.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(lib.len() >= 10, "{}", lib.len());
    assert!(matches!(
        lib["openai-tier1-gpt-4o-mini"].kind,
        KindSpec::OpenAi {
            rpm: 500,
            tpm: 200_000,
            rpd: Some(10_000),
            ..
        }
    ));
    assert!(matches!(
        lib["anthropic-tier1-claude-sonnet-4"].kind,
        KindSpec::Anthropic {
            rpm: 50,
            itpm: 30_000,
            otpm: 8_000,
            ..
        }
    ));
    assert!(matches!(
        lib["gemini-free-2.5-flash"].kind,
        KindSpec::Gemini {
            rpm: 10,
            tpm: 250_000,
            rpd: Some(500)
        }
    ));
    assert!(matches!(
        lib["mm4-exponential-1s"].kind,
        KindSpec::Unlimited
    ));
}

pub fn scenario_with(provider_block: &str) -> String {
    crate::BASE.replace(
        "provider:\n  name: p\n  rpm: 60\n  tpm: 100000\n  concurrency: 4\n  latency: { base: 100ms, per_output_token: 1ms }\n  price: { input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6 }\n",
        provider_block,
    )
}

#[test]
fn a_scenario_names_a_profile_and_adds_its_own_outage() {
    let text = scenario_with(
        "provider:\n  profile: openai-tier1-gpt-4o-mini\n  outages: [{ start: 1m, duration: 30s }]\n",
    );
    let s = parse(&workspace().join("scenarios/uses-profile.yaml"), &text)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.provider.name, "openai-tier1-gpt-4o-mini");
    assert!(matches!(s.provider.kind, KindSpec::OpenAi { rpm: 500, .. }));
    assert_eq!(s.provider.outages[0].status, 503);
    assert_eq!(s.provider.concurrency, 200);
}

fn errors_at(path: &Path, text: &str) -> Vec<ScenarioError> {
    match parse(path, text) {
        Ok(_) => panic!("expected errors:\n{text}"),
        Err(e) => e.0,
    }
}

#[test]
fn unknown_kinds_profiles_and_misplaced_fields_are_located_and_explained() {
    let bad = Path::new("bad.yaml");
    let e = &errors_at(
        bad,
        &scenario_with(
            "provider:\n  name: p\n  kind: openia\n  rpm: 1\n  tpm: 1\n  latency: { base: 1s }\n",
        ),
    )[0];
    assert_eq!((e.line, e.field.as_str()), (5, "provider.kind"), "{e}");
    assert!(e.message.contains("`anthropic`"), "{e}");
    let e = &errors_at(
        bad,
        &scenario_with(
            "provider:\n  name: p\n  kind: openai\n  rpm: 1\n  itpm: 5\n  tpm: 1\n  latency: { base: 1s }\n",
        ),
    )[0];
    assert_eq!((e.line, e.field.as_str()), (7, "provider.itpm"), "{e}");
    assert!(
        e.message.contains("does not apply to kind `openai`")
            && e.message.contains("rpd (optional)"),
        "{e}"
    );
    let e = &errors_at(
        bad,
        &scenario_with(
            "provider:\n  name: p\n  kind: anthropic\n  rpm: 1\n  itpm: -5\n  otpm: 1\n  latency: { base: 1s }\n",
        ),
    )[0];
    assert_eq!(
        (e.line, e.column, e.field.as_str()),
        (7, 9, "provider.itpm"),
        "{e}"
    );
    assert!(e.message.contains("greater than 0"), "{e}");
    let scen = workspace().join("scenarios/x.yaml");
    let e = &errors_at(
        &scen,
        &scenario_with("provider: { profile: openai-tier9 }\n"),
    )[0];
    assert!(
        e.message.contains("openai-tier1-gpt-4o-mini"),
        "lists the profiles: {e}"
    );
    let e = &errors_at(
        &scen,
        &scenario_with("provider:\n  profile: openai-tier1-gpt-4o\n  rpm: 5\n"),
    )[0];
    assert_eq!(e.field, "provider.rpm", "{e}");
    assert!(
        e.message.contains("cannot be combined with `profile`"),
        "{e}"
    );
}

/// A directory of its own under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spillway-provider-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn a_scenario_outside_scenarios_names_the_library_it_tried_and_how_to_point_at_one() {
    let dir = temp_dir("nolib");
    let text = scenario_with("provider: { profile: openai-tier1-gpt-4o-mini }\n");
    let errors = errors_at(&dir.join("s.yaml"), &text);
    let shown = errors[0].to_string();
    let tried = dir.join("providers.yaml");
    assert!(shown.contains(&format!("`{}`", tried.display())), "{shown}");
    assert!(shown.contains("library: PATH"), "{shown}");
    // With `library:` the user already chose the file: no advice to add one.
    let text = scenario_with("provider: { profile: x, library: gone.yaml }\n");
    let shown = errors_at(&dir.join("s.yaml"), &text)[0].to_string();
    assert!(
        shown.contains("gone.yaml") && !shown.contains("library: PATH"),
        "{shown}"
    );
}

#[test]
fn a_profile_missing_a_limit_is_reported_in_the_library_file() {
    let dir = temp_dir("lib");
    let lib = "profiles:\n  - name: ok\n    kind: generic\n    limit: 5\n    window: 1s\n    latency: { base: 1s }\n  - name: broken\n    kind: anthropic\n    rpm: 50\n    itpm: 0\n    latency: { base: 1s }\n";
    std::fs::write(dir.join("mine.yaml"), lib).expect("write");
    let text = scenario_with("provider:\n  profile: broken\n  library: mine.yaml\n");
    let errors = errors_at(&dir.join("s.yaml"), &text);
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{shown:#?}");
    assert!(
        errors.iter().all(|e| e.file == dir.join("mine.yaml")),
        "{shown:#?}"
    );
    let missing = errors
        .iter()
        .find(|e| e.message.contains("needs `otpm`"))
        .expect("missing otpm");
    assert_eq!(
        (missing.line, missing.field.as_str()),
        (8, "profiles[1].kind"),
        "{missing}"
    );
    let zero = errors
        .iter()
        .find(|e| e.field == "profiles[1].itpm")
        .expect("zero itpm");
    assert_eq!(zero.line, 10, "{zero}");
    let _ = std::fs::remove_dir_all(dir);
}

fn kind_block(kind: u8, a: i64, b: i64, c: i64) -> String {
    match kind % 7 {
        0 => format!("  kind: openai\n  rpm: {a}\n  tpm: {b}\n  rpd: {c}\n"),
        1 => format!(
            "  kind: anthropic\n  rpm: {a}\n  itpm: {b}\n  otpm: {c}\n  otpm_counting: actual\n"
        ),
        2 => format!("  kind: azure\n  rpm: {a}\n  tpm: {b}\n  sub_window: 1s\n"),
        3 => format!("  kind: gemini\n  rpm: {a}\n  tpm: {b}\n  rpd: {c}\n"),
        4 => format!("  kind: generic\n  limit: {a}\n  window: {}ns\n", b.max(1)),
        5 => format!("  kind: unlimited\n  concurrency: {}\n", a.clamp(1, 1000)),
        _ => format!("  rpm: {a}\n  tpm: {b}\n"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any valid config and any call sizes and times: answers and truths, never a panic, and
    /// headers that the core parser reads without a single error.
    #[test]
    fn extreme_configs_and_calls_never_panic(
        kind in 0u8..7,
        limits in proptest::array::uniform3(1i64..=1_000_000_000_000),
        calls in proptest::collection::vec((0u64..u64::MAX / 4, any::<u64>(), any::<u64>(), any::<u64>()), 1..40),
        fraction in 0.000_001f64..=1.0,
    ) {
        let [a, b, c] = limits;
        let block = format!(
            "  name: x\n{}  latency: {{ model: lognormal, median: 1ms, sigma: 5 }}\n  overload: {{ from: 0.5, max_probability: 1 }}\n  shared_quota: [{{ start: 0s, duration: 100000d, fraction: {fraction} }}]\n  outages: [{{ start: 1d, duration: 1ms }}]",
            kind_block(kind, a, b, c)
        );
        let spec = provider(&block);
        let mut p = EmulatedProvider::new(&spec, 7);
        let mut now = Time::ZERO;
        for (step, input, max, output) in calls {
            now = now.saturating_add(Duration::from_nanos(step % (1 << (step % 64))));
            let answer = p.call(now, &CallRequest { input_tokens: input, max_tokens: max, output_tokens: output });
            let snap = parse_headers(answer.headers(), Provider::Auto, None);
            prop_assert!(snap.errors.is_empty(), "{:?}\n{}", snap.errors, answer.header_text());
            let _ = p.truth(now);
        }
    }
}

#[test]
fn bad_latency_outage_and_share_values_name_what_is_allowed() {
    let bad = Path::new("bad.yaml");
    let cases = [
        (
            "latency: { model: gamma, mean: 1s }",
            "provider.latency.model",
            "`lognormal`",
        ),
        (
            "latency: { model: constant, base: 1s }",
            "provider.latency.base",
            "which takes: mean",
        ),
        (
            "latency: { base: 1s, jitter: 1.5 }",
            "provider.latency.jitter",
            "[0, 0.99]",
        ),
        (
            "latency: { base: 1s }\n  outages:\n    - start: 1m\n      duration: 1m\n      status: 429",
            "provider.outages[0].status",
            "500-599",
        ),
        (
            "latency: { base: 1s }\n  shared_quota:\n    - start: 1m\n      duration: 1m\n      fraction: 0",
            "provider.shared_quota[0].fraction",
            "(0, 1]",
        ),
        (
            "latency: { base: 1s }\n  wall_clock_start: yesterday",
            "provider.wall_clock_start",
            "RFC 3339",
        ),
    ];
    for (latency, field, hint) in cases {
        let block = format!(
            "provider:\n  name: p\n  kind: generic\n  limit: 5\n  window: 1s\n  {latency}\n"
        );
        let errors = errors_at(bad, &scenario_with(&block));
        let e = errors
            .iter()
            .find(|e| e.field == field)
            .unwrap_or_else(|| panic!("no error at {field}: {errors:#?}"));
        assert_eq!(e.field, field, "{e}");
        assert!(e.to_string().contains(hint), "{e}");
        assert!(e.line >= 8, "{e}");
    }
}
