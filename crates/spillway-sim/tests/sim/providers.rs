//! Emulated providers: each kind admits exactly its limits, in its real window shape, and its
//! headers parse back (with the core's parser) to the provider's true state.

use spillway_core::upstream::headers::{Dimension, Provider, parse_headers, parse_rfc3339};
use spillway_core::{Duration, Time};
use spillway_sim::provider::{
    Answer, CallRequest, EmulatedProvider, LimitedBy, Outcome, ProviderSpec,
};
use spillway_sim::scenario::parse;
use std::path::Path;

/// A provider from an inline YAML block (indented two spaces), through the scenario loader.
pub fn provider(block: &str) -> ProviderSpec {
    let text = format!(
        "duration: 1m\nprovider:\n{block}\ntraffic:\n  groups:\n    - name: g\n      users: 1\n      class: batch\n      arrival: {{ poisson: {{ rate: 1/min }} }}\n      input_tokens: {{ median: 10, sigma: 0 }}\n      output_tokens: {{ median: 10, sigma: 0 }}\npolicies:\n  - name: p\n"
    );
    match parse(Path::new("inline.yaml"), &text) {
        Ok(s) => s.provider,
        Err(e) => panic!("{e}\n{text}"),
    }
}

const SMALL: CallRequest = CallRequest {
    input_tokens: 10,
    max_tokens: 10,
    output_tokens: 10,
};

fn ms(n: u64) -> Time {
    Time::from_nanos(n * 1_000_000)
}

/// Calls at `times`, counting admissions.
fn admitted(p: &mut EmulatedProvider, times: impl Iterator<Item = Time>) -> usize {
    times
        .filter(|&t| p.call(t, &SMALL).done_at().is_some())
        .count()
}

fn limited_by(a: &Answer) -> Option<LimitedBy> {
    match a.outcome {
        Outcome::RateLimited { by, .. } => Some(by),
        _ => None,
    }
}

#[test]
fn openai_rpm_500_admits_500_from_a_full_bucket_then_one_per_120ms() {
    let spec = provider(
        "  name: o\n  kind: openai\n  rpm: 500\n  tpm: 100000000\n  count_rejected: false\n  latency: { base: 1ms }",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    assert_eq!(admitted(&mut p, (0..1000).map(|_| Time::ZERO)), 500);
    // Saturating: a call every millisecond for a minute gets exactly the refill.
    assert_eq!(admitted(&mut p, (1..=60_000).map(ms)), 500);
}

#[test]
fn openai_429s_count_against_the_limit_so_hammering_starves_the_hammerer() {
    let spec = provider(
        "  name: o\n  kind: openai\n  rpm: 500\n  tpm: 100000000\n  latency: { base: 1ms }",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    assert_eq!(admitted(&mut p, (0..1000).map(|_| Time::ZERO)), 500);
    // 500 refused calls put the bucket a minute in debt, and every further call adds to it.
    assert_eq!(admitted(&mut p, (1..=60_000).map(ms)), 0);
    let truth = p.truth(ms(60_000));
    assert!(truth[0].remaining < -50_000, "{truth:?}");
}

#[test]
fn openai_reserves_max_tokens_at_admission() {
    let spec =
        provider("  name: o\n  kind: openai\n  rpm: 10000\n  tpm: 10000\n  latency: { base: 1ms }");
    let mut p = EmulatedProvider::new(&spec, 1);
    let big = CallRequest {
        input_tokens: 100,
        max_tokens: 900,
        output_tokens: 5,
    };
    let ok = (0..20)
        .filter(|_| p.call(Time::ZERO, &big).done_at().is_some())
        .count();
    assert_eq!(
        ok, 10,
        "1000 tokens reserved each, although only 105 are used"
    );
    assert_eq!(
        limited_by(&p.call(Time::ZERO, &big)),
        Some(LimitedBy::Tokens)
    );
    let too_large = CallRequest {
        input_tokens: 10_001,
        ..big
    };
    let a = p.call(ms(1), &too_large);
    assert!(matches!(
        a.outcome,
        Outcome::RateLimited {
            never_fits: true,
            ..
        }
    ));
    assert_eq!(a.retry_after(), None, "no hint: waiting cannot help");
}

#[test]
fn openai_retry_after_is_sent_only_sometimes_and_the_body_always_says_when() {
    let spec = provider(
        "  name: o\n  kind: openai\n  rpm: 1\n  tpm: 1000\n  count_rejected: false\n  latency: { base: 1ms }",
    );
    let mut p = EmulatedProvider::new(&spec, 9);
    p.call(Time::ZERO, &SMALL);
    let answers: Vec<Answer> = (1..200).map(|i| p.call(ms(i), &SMALL)).collect();
    let with = answers.iter().filter(|a| a.retry_after().is_some()).count();
    assert!((50..150).contains(&with), "{with} of 199 carry retry-after");
    for a in &answers {
        assert_eq!(a.status, 429);
        let wait = match a.outcome {
            Outcome::RateLimited { wait, .. } => wait,
            _ => panic!("{a:?}"),
        };
        assert_eq!(
            a.body_retry_delay,
            Some(Duration::from_millis(wait.as_nanos().div_ceil(1_000_000)))
        );
    }
    // The same seed gives the same answers.
    let mut q = EmulatedProvider::new(&spec, 9);
    q.call(Time::ZERO, &SMALL);
    let again: Vec<Answer> = (1..200).map(|i| q.call(ms(i), &SMALL)).collect();
    assert_eq!(answers, again);
}

#[test]
fn anthropic_429_is_quota_and_529_is_overload_which_consumes_nothing() {
    let spec = provider(
        "  name: a\n  kind: anthropic\n  rpm: 5\n  itpm: 100000\n  otpm: 100000\n  concurrency: 10\n  overload: { from: 0.0, max_probability: 1.0 }\n  latency: { base: 10s }",
    );
    let mut p = EmulatedProvider::new(&spec, 3);
    let answers: Vec<Answer> = (0..40).map(|i| p.call(ms(i), &SMALL)).collect();
    let overloaded: Vec<&Answer> = answers.iter().filter(|a| a.status == 529).collect();
    let limited: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(!overloaded.is_empty() && !limited.is_empty());
    for a in &overloaded {
        assert_eq!(a.outcome, Outcome::Overloaded);
        assert_eq!(a.retry_after(), None);
    }
    for a in &limited {
        assert_eq!(limited_by(a), Some(LimitedBy::Requests));
        let text = a.header_text();
        assert!(text.contains("retry-after: "), "{text}");
        assert!(
            text.contains("anthropic-ratelimit-requests-remaining: 0"),
            "{text}"
        );
    }
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(ok, 5, "exactly the RPM is admitted; 529s took none of it");
}

#[test]
fn anthropic_output_tokens_reserved_at_start_are_refunded_at_completion() {
    let spec = provider(
        "  name: a\n  kind: anthropic\n  rpm: 1000\n  itpm: 100000\n  otpm: 6000\n  otpm_counting: max_tokens\n  latency: { base: 1s }",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    let req = CallRequest {
        input_tokens: 100,
        max_tokens: 3000,
        output_tokens: 100,
    };
    assert!(p.call(Time::ZERO, &req).done_at().is_some());
    assert!(p.call(Time::ZERO, &req).done_at().is_some());
    assert_eq!(
        limited_by(&p.call(Time::ZERO, &req)),
        Some(LimitedBy::OutputTokens)
    );
    // At completion (1 s) the unused 2 × 2900 come back: 100 tokens refilled per second.
    let out = |p: &mut EmulatedProvider, t| {
        p.truth(t)
            .into_iter()
            .find(|q| q.by == LimitedBy::OutputTokens)
            .expect("otpm")
            .remaining
    };
    assert_eq!(out(&mut p, ms(999)), 99);
    assert_eq!(out(&mut p, ms(1000)), 100 + 5800);
}

#[test]
fn azure_enforces_rpm_per_10s_sub_window() {
    let spec =
        provider("  name: z\n  kind: azure\n  rpm: 120\n  tpm: 10000000\n  latency: { base: 1ms }");
    let mut p = EmulatedProvider::new(&spec, 1);
    // 20 per 10 s: a burst of 50 gets 20, every window after gets 20 more.
    assert_eq!(admitted(&mut p, (0..50).map(|_| Time::ZERO)), 20);
    for w in 1..6u64 {
        let start = w * 10_000;
        assert_eq!(
            admitted(&mut p, (start..start + 10_000).step_by(10).map(ms)),
            20,
            "window {w}"
        );
    }
    let answers: Vec<Answer> = (0..21).map(|_| p.call(ms(60_001), &SMALL)).collect();
    let a = &answers[20];
    assert_eq!(limited_by(a), Some(LimitedBy::Requests));
    // 9.999 s to the end of the sub-window: whole seconds up, milliseconds up.
    assert_eq!(a.retry_after(), Some(Duration::from_millis(9_999)));
    let text = a.header_text();
    assert!(text.contains("x-ratelimit-limit-requests: 20\n"), "{text}");
    assert!(
        text.contains("retry-after: 10\nretry-after-ms: 9999\n"),
        "{text}"
    );
    assert!(text.contains("x-ratelimit-reset-requests: 10\n"), "{text}");
}

#[test]
fn azure_1s_sub_window_allows_2_per_second_at_120_rpm() {
    let spec = provider(
        "  name: z\n  kind: azure\n  rpm: 120\n  tpm: 10000000\n  sub_window: 1s\n  latency: { base: 1ms }",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    assert_eq!(admitted(&mut p, (0..60_000).step_by(5).map(ms)), 120);
}

#[test]
fn gemini_rpd_resets_at_pacific_midnight_and_the_wait_is_only_in_the_body() {
    // t = 0 is 23:59 PST: the day ends a minute later.
    let spec = provider(
        "  name: g\n  kind: gemini\n  rpm: 1000\n  tpm: 1000000\n  rpd: 5\n  wall_clock_start: 2026-01-16T07:59:00Z\n  latency: { base: 1ms }",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    assert_eq!(admitted(&mut p, (0..5).map(ms)), 5);
    let refused = p.call(ms(10), &SMALL);
    assert_eq!(limited_by(&refused), Some(LimitedBy::RequestsPerDay));
    assert_eq!(
        refused.body_retry_delay,
        Some(Duration::from_millis(59_990))
    );
    assert_eq!(refused.retry_after(), None);
    let names: Vec<&str> = refused.headers().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["date"], "Gemini sends no rate-limit headers");
    assert_eq!(admitted(&mut p, (11..60_000).step_by(1000).map(ms)), 0);
    assert_eq!(
        admitted(&mut p, (60_000..60_010).map(ms)),
        5,
        "a new Pacific day"
    );
}

#[test]
fn gemini_minute_limits_reset_at_second_00() {
    let spec = provider(
        "  name: g\n  kind: gemini\n  rpm: 3\n  tpm: 1000000\n  wall_clock_start: 2026-01-15T16:00:30Z\n  latency: { base: 1ms }",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    assert_eq!(admitted(&mut p, (0..10).map(|_| Time::ZERO)), 3);
    let a = p.call(Time::ZERO, &SMALL);
    assert_eq!(a.body_retry_delay, Some(Duration::from_secs(30)));
    assert_eq!(admitted(&mut p, (0..10).map(|_| Time::from_secs(30))), 3);
}

#[test]
fn generic_fixed_window_sends_an_epoch_reset() {
    let spec =
        provider("  name: x\n  kind: generic\n  limit: 60\n  window: 1m\n  latency: { base: 1ms }");
    let mut p = EmulatedProvider::new(&spec, 1);
    assert_eq!(admitted(&mut p, (0..100).map(|_| Time::from_secs(10))), 60);
    let a = p.call(Time::from_secs(10), &SMALL);
    let snap = parse_headers(a.headers(), Provider::Auto, None);
    let dim = snap.dim(&Dimension::Unqualified).expect("X-RateLimit-*");
    assert_eq!(
        dim.reset_at,
        Some(parse_rfc3339("2026-01-15T16:01:00Z").unwrap())
    );
    assert_eq!(dim.reset_after, Some(Duration::from_secs(50)));
    assert_eq!(snap.retry_after, Some(Duration::from_secs(50)));
    assert_eq!(admitted(&mut p, (0..100).map(|_| Time::from_secs(60))), 60);
}

#[test]
fn an_outage_fails_every_call_in_its_window_and_consumes_nothing() {
    let spec = provider(
        "  name: o\n  kind: openai\n  rpm: 100\n  tpm: 1000000\n  latency: { base: 1ms }\n  outages: [{ start: 10s, duration: 5s, status: 502 }]",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    for t in (10_000..15_000).step_by(10).map(ms) {
        let a = p.call(t, &SMALL);
        assert_eq!((a.outcome, a.status), (Outcome::Unavailable, 502));
    }
    assert_eq!(p.truth(ms(15_000))[0].remaining, 100);
    assert_eq!(p.call(ms(15_000), &SMALL).status, 200);
    assert_eq!(p.call(ms(9_999), &SMALL).status, 200);
}

#[test]
fn a_shared_consumer_takes_its_fraction_of_our_admissions() {
    let run = |shared: &str| {
        let spec = provider(&format!(
            "  name: o\n  kind: openai\n  rpm: 600\n  tpm: 100000000\n  count_rejected: false\n  latency: {{ base: 1ms }}{shared}"
        ));
        let mut p = EmulatedProvider::new(&spec, 1);
        admitted(&mut p, (0..600_000).step_by(10).map(ms))
    };
    let alone = run("");
    let shared = run("\n  shared_quota: [{ start: 0s, duration: 10m, fraction: 0.5 }]");
    // A full bucket of 600, then 600/min alone or 300/min beside the other service.
    assert!((6595..=6600).contains(&alone), "{alone}");
    assert!((3595..=3605).contains(&shared), "{shared}");
}

#[test]
fn the_unlimited_provider_is_c_fifo_servers() {
    let spec = provider(
        "  name: q\n  kind: unlimited\n  concurrency: 2\n  latency: { model: constant, mean: 1s }",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    let done: Vec<Time> = (0..5)
        .map(|_| p.call(Time::ZERO, &SMALL).done_at().expect("never refused"))
        .collect();
    let secs = [1, 1, 2, 2, 3].map(Time::from_secs);
    assert_eq!(done, secs);
    assert_eq!(
        p.call(Time::from_secs(10), &SMALL).done_at(),
        Some(Time::from_secs(11))
    );
}

#[test]
fn the_concurrency_cap_refuses_until_the_next_completion() {
    let spec = provider(
        "  name: o\n  kind: openai\n  rpm: 1000\n  tpm: 1000000\n  concurrency: 2\n  latency: { base: 3s }",
    );
    let mut p = EmulatedProvider::new(&spec, 1);
    p.call(Time::ZERO, &SMALL);
    p.call(Time::from_secs(1), &SMALL);
    let a = p.call(Time::from_secs(2), &SMALL);
    assert_eq!(limited_by(&a), Some(LimitedBy::Concurrency));
    assert!(
        matches!(a.outcome, Outcome::RateLimited { wait, .. } if wait == Duration::from_secs(1))
    );
    assert_eq!(
        p.call(Time::from_secs(3), &SMALL).status,
        200,
        "the first call finished"
    );
}

#[test]
fn refusals_take_the_error_latency_and_acceptances_answer_at_once() {
    let outage = "  outages: [{ start: 10s, duration: 5s, status: 503 }]";
    let spec = provider(&format!(
        "  name: e\n  kind: openai\n  rpm: 1\n  tpm: 1000000\n  latency: {{ base: 1ms }}\n  error_latency: 200ms\n{outage}"
    ));
    let mut p = EmulatedProvider::new(&spec, 1);
    assert_eq!(p.call(ms(0), &SMALL).answer_after, Duration::ZERO);
    let refused = p.call(ms(1), &SMALL);
    assert_eq!(refused.status, 429);
    assert_eq!(refused.answer_after, Duration::from_millis(200));
    let failed = p.call(ms(11_000), &SMALL);
    assert_eq!(
        (failed.status, failed.answer_after),
        (503, Duration::from_millis(200))
    );
    let default =
        provider("  name: d\n  kind: openai\n  rpm: 1\n  tpm: 1000000\n  latency: { base: 1ms }");
    assert_eq!(
        default.error_latency,
        spillway_sim::provider::DEFAULT_ERROR_LATENCY
    );
    let mut p = EmulatedProvider::new(&default, 1);
    p.call(ms(0), &SMALL);
    assert_eq!(
        p.call(ms(1), &SMALL).answer_after,
        Duration::from_millis(50)
    );
}
