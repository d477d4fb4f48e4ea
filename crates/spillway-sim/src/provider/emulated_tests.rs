//! Unit tests of [`super::EmulatedProvider`]: the original model is preserved, and header
//! text reproduces real captures exactly.

use super::*;
use crate::scenario::Price;
use spillway_core::upstream::headers::parse_rfc3339;
use spillway_core::{Duration, Time};

fn spec(kind: KindSpec) -> ProviderSpec {
    ProviderSpec {
        name: "test".into(),
        kind,
        concurrency: 1000,
        latency: LatencySpec::Empirical {
            base: Duration::from_millis(100),
            per_output_token: Duration::from_millis(1),
            jitter: 0.0,
        },
        error_latency: Duration::ZERO,
        overload: None,
        outages: Vec::new(),
        shared_quota: Vec::new(),
        wall_clock_start: DEFAULT_WALL_CLOCK_START,
        price: Price::default(),
    }
}

fn req(input: u64, output: u64) -> CallRequest {
    CallRequest {
        input_tokens: input,
        max_tokens: output,
        output_tokens: output,
    }
}

#[test]
fn basic_admits_exactly_the_rpm_then_429s_with_a_whole_second_retry_after() {
    let mut p = EmulatedProvider::new(
        &spec(KindSpec::Basic {
            rpm: 500,
            tpm: 10_000_000,
        }),
        0,
    );
    let t = Time::from_secs(10);
    let admitted = (0..600)
        .filter(|_| p.call(t, &req(10, 10)).done_at().is_some())
        .count();
    assert_eq!(admitted, 500);
    let refused = p.call(t, &req(10, 10));
    assert_eq!(refused.status, 429);
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
    assert!(matches!(
        refused.outcome,
        Outcome::RateLimited {
            by: LimitedBy::Requests,
            ..
        }
    ));
    // Refused calls were free: 120 ms later exactly one more fits.
    assert!(
        p.call(t.saturating_add(Duration::from_millis(120)), &req(10, 10))
            .done_at()
            .is_some()
    );
}

#[test]
fn service_time_is_base_plus_per_token() {
    let mut p = EmulatedProvider::new(
        &spec(KindSpec::Basic {
            rpm: 10,
            tpm: 10_000,
        }),
        0,
    );
    let a = p.call(Time::ZERO, &req(50, 200));
    assert_eq!(a.done_at(), Some(Time::from_nanos(300_000_000)));
}

fn openai(rpm: u64, tpm: u64) -> KindSpec {
    KindSpec::OpenAi {
        rpm,
        tpm,
        rpd: None,
        retry_after_probability: 1.0,
        count_rejected: true,
    }
}

#[test]
fn openai_headers_reproduce_real_captures() {
    // 5000/4999 → 12ms; 30000 with 32 reserved → 64ms (provider-semantics.md, derived rule).
    let mut p = EmulatedProvider::new(&spec(openai(5000, 30_000)), 0);
    let text = p.call(Time::ZERO, &req(22, 10)).header_text();
    assert_eq!(
        text,
        "date: Thu, 15 Jan 2026 16:00:00 GMT\n\
         x-ratelimit-limit-requests: 5000\n\
         x-ratelimit-remaining-requests: 4999\n\
         x-ratelimit-reset-requests: 12ms\n\
         x-ratelimit-limit-tokens: 30000\n\
         x-ratelimit-remaining-tokens: 29968\n\
         x-ratelimit-reset-tokens: 64ms\n"
    );
}

#[test]
fn anthropic_headers_use_rfc3339_resets_and_thousands() {
    let kind = KindSpec::Anthropic {
        rpm: 50,
        itpm: 80_000,
        otpm: 16_000,
        otpm_counting: OtpmCounting::MaxTokens,
    };
    let mut p = EmulatedProvider::new(&spec(kind), 0);
    let t = Time::from_nanos(1_500_000_000);
    let a = p.call(t, &req(1_400, 600));
    let headers = a.headers();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{name} in {headers:?}"))
    };
    assert_eq!(get("date"), "Thu, 15 Jan 2026 16:00:01 GMT");
    assert_eq!(get("anthropic-ratelimit-requests-remaining"), "49");
    // 1.2 s to refill one request, counted from 16:00:01.5, rounded down.
    assert_eq!(
        get("anthropic-ratelimit-requests-reset"),
        "2026-01-15T16:00:02Z"
    );
    assert_eq!(get("anthropic-ratelimit-input-tokens-remaining"), "79000");
    assert_eq!(get("anthropic-ratelimit-output-tokens-remaining"), "15000");
    assert_eq!(get("anthropic-ratelimit-tokens-limit"), "96000");
    let reset = parse_rfc3339(get("anthropic-ratelimit-input-tokens-reset")).expect("rfc 3339");
    assert!(reset > DEFAULT_WALL_CLOCK_START);
}

#[test]
fn gemini_and_unlimited_send_only_a_date() {
    for kind in [
        KindSpec::Gemini {
            rpm: 1,
            tpm: 100,
            rpd: None,
        },
        KindSpec::Unlimited,
    ] {
        let mut p = EmulatedProvider::new(&spec(kind), 0);
        let names: Vec<&str> = p
            .call(Time::ZERO, &req(1, 1))
            .headers()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].eq_ignore_ascii_case("date"));
    }
}

#[test]
fn a_shared_consumer_on_a_window_takes_exactly_its_share() {
    let mut s = spec(KindSpec::Generic {
        limit: 1000,
        window: Duration::from_secs(10),
    });
    s.shared_quota.push(SharedQuotaSpec {
        start: Time::ZERO,
        end: Time::from_secs(100),
        fraction_ppm: 250_000,
    });
    let mut p = EmulatedProvider::new(&s, 0);
    // Polled often or once, the other tenant has taken a quarter of the window's quota.
    for ms in (0..=5000).step_by(7) {
        let _ = p.truth(Time::from_nanos(ms * 1_000_000));
    }
    assert_eq!(p.truth(Time::from_secs(5))[0].remaining, 1000 - 125);
    let mut q = EmulatedProvider::new(&s, 0);
    assert_eq!(q.truth(Time::from_secs(5))[0].remaining, 1000 - 125);
    // A new window starts clean.
    assert_eq!(q.truth(Time::from_secs(10))[0].remaining, 1000);
}

#[test]
fn an_openai_429_reports_the_wait_including_its_own_charge() {
    let mut p = EmulatedProvider::new(&spec(openai(60, 1_000_000)), 0);
    for _ in 0..60 {
        assert_eq!(p.call(Time::ZERO, &req(1, 1)).status, 200);
    }
    // Empty bucket: one request per second. The refused call costs one more second.
    let a = p.call(Time::ZERO, &req(1, 1));
    assert!(
        matches!(a.outcome, Outcome::RateLimited { wait, .. } if wait == Duration::from_secs(2))
    );
    assert_eq!(a.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(p.call(Time::from_secs(2), &req(1, 1)).status, 200);
}
