//! The expected meaning of every line of the shared header corpus (`provider-headers.txt`),
//! embedded as unit tests so it holds in checkouts without the shared file. Each line is parsed
//! alone through the full pipeline, with the `Date` of the capture it came from.

use super::*;
use crate::time::Duration;

/// The "now" of the SDK retry-after tests: `Fri, 29 Sep 2023 16:26:27 GMT`.
const SDK_DATE: &str = "Fri, 29 Sep 2023 16:26:27 GMT";
/// The Anthropic capture's `Date`, one second after its whole-second reset.
const ANTHROPIC_DATE: &str = "Thu, 21 Aug 2025 12:41:00 GMT";

fn one(name: &str, value: &str) -> Result<RateLimitSnapshot, HeaderError> {
    let date = if name.starts_with("anthropic") {
        ANTHROPIC_DATE
    } else {
        SDK_DATE
    };
    parse_headers_strict([("date", date), (name, value)], Provider::Auto, None)
}

fn dim(name: &str, value: &str, dim: Dimension) -> DimensionState {
    let snap = one(name, value).unwrap_or_else(|e| panic!("{name}: {value}: {e}"));
    assert_eq!(snap.dims.len(), 1, "{name}: {value}");
    snap.dim(&dim)
        .unwrap_or_else(|| panic!("{name}: {value}: no {dim}"))
        .clone()
}

fn value_error(name: &str, value: &str) -> ValueError {
    match one(name, value) {
        Err(HeaderError::Value { error, .. }) => error,
        other => panic!("{name}: {value}: expected a value error, got {other:?}"),
    }
}

fn retry_after(name: &str, value: &str) -> Duration {
    let snap = one(name, value).unwrap_or_else(|e| panic!("{name}: {value}: {e}"));
    snap.retry_after.expect("a wait")
}

const fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

#[test]
fn openai_counts() {
    let d = Dimension::Requests;
    assert_eq!(
        dim("x-ratelimit-limit-requests", "5000", d.clone()).limit,
        Some(5000)
    );
    assert_eq!(
        dim("x-ratelimit-remaining-requests", "4999", d).remaining,
        Some(4999)
    );
    let d = dim(
        "x-ratelimit-remaining-tokens_usage_based",
        "159976",
        Dimension::TokensUsageBased,
    );
    assert_eq!(d.remaining, Some(159_976));
}

#[test]
fn openai_go_duration_resets() {
    let r = |name, value, d| dim(name, value, d).reset_after;
    assert_eq!(
        r("x-ratelimit-reset-requests", "12ms", Dimension::Requests),
        ms(12)
    );
    assert_eq!(
        r("x-ratelimit-reset-tokens", "9ms", Dimension::Tokens),
        ms(9)
    );
    assert_eq!(
        r("x-ratelimit-reset-tokens", "64ms", Dimension::Tokens),
        ms(64)
    );
    assert_eq!(
        r("x-ratelimit-reset-requests", "1s", Dimension::Requests),
        ms(1000)
    );
    assert_eq!(
        r("x-ratelimit-reset-tokens", "6m0s", Dimension::Tokens),
        ms(360_000)
    );
    assert_eq!(
        r(
            "x-ratelimit-reset-project-tokens",
            "3s",
            Dimension::ProjectTokens
        ),
        ms(3000)
    );
    // "Groq, OpenAI format, per-day request limit": 2 of 1000 used, refilled over a day.
    let groq = r("x-ratelimit-reset-requests", "2m52.8s", Dimension::Requests);
    assert_eq!(groq, Some(Duration::from_nanos(172_800_000_000)));
    assert_eq!(
        groq,
        Some(Duration::from_secs(86_400).saturating_mul(2))
            .map(|d| { Duration::from_nanos(d.as_nanos() / 1000) })
    );
}

#[test]
fn retry_after_family() {
    assert_eq!(retry_after("retry-after", "56"), Duration::from_secs(56));
    assert_eq!(retry_after("retry-after", "11"), Duration::from_secs(11));
    assert_eq!(retry_after("retry-after", "0"), Duration::ZERO);
    assert_eq!(
        value_error("retry-after", "-10"),
        ValueError::NegativeRetryAfter {
            value: "-10".into()
        },
        "invalid: negative"
    );
    let snap = one("retry-after", "Fri, 29 Sep 2023 16:26:57 GMT").unwrap();
    assert_eq!(
        snap.retry_after,
        Some(Duration::from_secs(30)),
        "HTTP-date - Date"
    );
    assert_eq!(snap.retry_at.unwrap().to_string(), "2023-09-29T16:26:57Z");
    assert!(matches!(
        value_error("retry-after", "Zun, 29 Sep 2023 16:26:27 GMT"),
        ValueError::InvalidDate {
            reason: "invalid weekday",
            ..
        }
    ));
    assert_eq!(
        retry_after("retry-after-ms", "120000"),
        Duration::from_secs(120)
    );
}

#[test]
fn anthropic() {
    let reset = dim(
        "anthropic-ratelimit-requests-reset",
        "2025-08-21T12:40:59Z",
        Dimension::Requests,
    );
    assert_eq!(reset.reset_at.unwrap().to_string(), "2025-08-21T12:40:59Z");
    assert_eq!(
        reset.reset_after,
        Some(Duration::ZERO),
        "before Date: clamped"
    );
    let tokens = dim(
        "anthropic-ratelimit-tokens-limit",
        "96000",
        Dimension::Tokens,
    );
    assert_eq!(tokens.limit, Some(96_000));
    let unified = Dimension::from_name("unified-5h").unwrap();
    let u = dim(
        "anthropic-ratelimit-unified-5h-utilization",
        "0.042598363636363636",
        unified,
    );
    assert_eq!(u.utilization_ppm, Some(42_598));
    assert_eq!(
        one("anthropic-ratelimit-tokens-limit", "1")
            .unwrap()
            .provider,
        Provider::Anthropic
    );
}

#[test]
fn azure() {
    let snap = one("x-rate-limit-reset-tokens", "55").unwrap();
    assert_eq!(
        snap.provider,
        Provider::Azure,
        "the hyphenated 'rate-limit' is Azure's"
    );
    assert_eq!(
        snap.dim(&Dimension::Tokens).unwrap().reset_after,
        ms(55_000)
    );
    let negative = dim("x-ratelimit-remaining-tokens", "-27689", Dimension::Tokens);
    assert_eq!(
        negative.remaining,
        Some(-27_689),
        "negative remaining is kept"
    );
    let unknown = dim("x-ratelimit-limit-tokens", "-1", Dimension::Tokens);
    assert_eq!(unknown, DimensionState::default(), "-1 means unknown");
}

#[test]
fn mistral() {
    let snap = one("ratelimitbysize-reset", "3").unwrap();
    assert_eq!(snap.provider, Provider::Mistral);
    assert_eq!(snap.dim(&Dimension::Tokens).unwrap().reset_after, ms(3000));
    let month = Dimension::from_name("tokens-per-month").unwrap();
    let d = dim("x-ratelimitbysize-remaining-month", "997912692", month);
    assert_eq!(d.remaining, Some(997_912_692));
}
