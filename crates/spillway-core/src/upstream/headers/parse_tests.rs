//! Whole-response behaviour of [`parse_headers`]: provider inference, `Date` handling,
//! precedence, duplicates, sentinels, leniency vs strictness, bounds.

use super::*;
use crate::time::Duration;

const DATE: &str = "Thu, 21 Aug 2025 12:41:00 GMT";
const DATE_S: i64 = 1_755_780_060;

fn lenient(headers: &[(&str, &str)]) -> RateLimitSnapshot {
    parse_headers(headers.iter().copied(), Provider::Auto, None)
}

#[test]
fn openai_live_capture_matches_the_linear_refill_rule() {
    let snap = lenient(&[
        ("X-RateLimit-Limit-Requests", "5000"),
        ("x-ratelimit-limit-tokens", "160000"),
        ("x-ratelimit-remaining-requests", "4999"),
        ("x-ratelimit-remaining-tokens", "159976"),
        ("x-ratelimit-reset-requests", "12ms"),
        ("x-ratelimit-reset-tokens", "9ms"),
        ("openai-processing-ms", "345"),
        ("content-type", "application/json"),
    ]);
    assert_eq!(snap.provider, Provider::OpenAi);
    assert!(snap.errors.is_empty(), "{:?}", snap.errors);
    let req = snap.dim(&Dimension::Requests).unwrap();
    assert_eq!((req.limit, req.remaining), (Some(5000), Some(4999)));
    // reset = (limit - remaining) / limit x 60 s
    assert_eq!(
        req.reset_after,
        Some(Duration::from_nanos(60_000_000_000 / 5000))
    );
    let tok = snap.dim(&Dimension::Tokens).unwrap();
    assert_eq!(tok.reset_after, Some(Duration::from_millis(9)));
    assert_eq!(snap.ignored, ["openai-processing-ms", "content-type"]);
    assert_eq!(snap.date, None);
}

#[test]
fn azure_unknown_dimension_is_entirely_unknown() {
    let snap = lenient(&[
        ("x-ratelimit-limit-tokens", "-1"),
        ("x-ratelimit-remaining-tokens", "-1"),
        ("x-ratelimit-reset-tokens", "0"),
        ("x-ms-region", "East US"),
    ]);
    assert_eq!(snap.provider, Provider::Azure);
    assert_eq!(
        snap.dim(&Dimension::Tokens),
        Some(&DimensionState::default())
    );
    assert!(snap.errors.is_empty());
}

#[test]
fn azure_is_inferred_from_integer_second_resets() {
    let snap = lenient(&[("x-ratelimit-reset-tokens", "64"), ("retry-after", "4")]);
    assert_eq!(snap.provider, Provider::Azure);
    assert_eq!(snap.retry_after, Some(Duration::from_secs(4)));
}

/// A proxy's marker (`apim-request-id`) in front of OpenAI does not make its answer Azure's:
/// the Go-duration reset says OpenAI; a bare-number one still says Azure.
#[test]
fn the_reset_syntax_beats_a_marker() {
    let openai = lenient(&[
        ("x-ratelimit-remaining-requests", "4999"),
        ("x-ratelimit-reset-requests", "12ms"),
        ("apim-request-id", "abc"),
    ]);
    assert_eq!(openai.provider, Provider::OpenAi);
    let azure = lenient(&[
        ("x-ratelimit-reset-requests", "9"),
        ("apim-request-id", "abc"),
    ]);
    assert_eq!(azure.provider, Provider::Azure);
}

#[test]
fn retry_after_ms_wins_over_retry_after() {
    let snap = lenient(&[("retry-after", "7"), ("retry-after-ms", "6500.5")]);
    assert_eq!(snap.retry_after, Some(Duration::from_micros(6_500_500)));
    let snap = lenient(&[("retry-after-ms", "oops"), ("retry-after", "7")]);
    assert_eq!(
        snap.retry_after,
        Some(Duration::from_secs(7)),
        "falls back when invalid"
    );
    assert_eq!(snap.errors.len(), 1);
}

#[test]
fn absolute_times_use_the_date_header_then_the_fallback() {
    let headers = [("anthropic-ratelimit-tokens-reset", "2025-08-21T12:41:30Z")];
    let fallback = Some(UnixNanos::from_secs(DATE_S + 10));
    let with_date = [("date", DATE), headers[0]];
    let snap = parse_headers(with_date, Provider::Auto, fallback);
    let reset = |s: &RateLimitSnapshot| s.dim(&Dimension::Tokens).unwrap().reset_after;
    assert_eq!(
        snap.date,
        Some(UnixNanos::from_secs(DATE_S)),
        "Date beats the fallback"
    );
    assert_eq!(reset(&snap), Some(Duration::from_secs(30)));
    let snap = parse_headers(headers, Provider::Auto, fallback);
    assert_eq!(reset(&snap), Some(Duration::from_secs(20)));
    let snap = parse_headers(headers, Provider::Auto, None);
    assert_eq!(reset(&snap), None);
    assert!(snap.dim(&Dimension::Tokens).unwrap().reset_at.is_some());
    assert!(matches!(snap.errors[..], [HeaderError::MissingDate { .. }]));
}

#[test]
fn generic_epoch_resets_are_measured_against_date() {
    let snap = lenient(&[
        ("Date", DATE),
        ("X-RateLimit-Limit", "60"),
        ("X-RateLimit-Remaining", "0"),
        ("X-RateLimit-Reset", "1755780075"),
    ]);
    assert_eq!(snap.provider, Provider::Generic);
    let d = snap.dim(&Dimension::Unqualified).unwrap();
    assert_eq!(d.reset_after, Some(Duration::from_secs(15)));
    let delta = lenient(&[("RateLimit-Reset", "15")]);
    assert_eq!(
        delta.dim(&Dimension::Unqualified).unwrap().reset_after,
        d.reset_after
    );
}

#[test]
fn every_bad_header_is_reported_in_input_order() {
    let snap = lenient(&[
        ("x-ratelimit-limit-requests", "lots"),
        ("date", "yesterday"),
        ("x-ratelimit-remaining-requests", "3"),
        ("retry-after", "-10"),
        ("x-ratelimit-remaining-requests", "4"),
    ]);
    let headers: Vec<_> = snap.errors.iter().map(|e| e.header().unwrap()).collect();
    assert_eq!(
        headers,
        [
            "x-ratelimit-limit-requests",
            "date",
            "retry-after",
            "x-ratelimit-remaining-requests"
        ]
    );
    assert!(matches!(snap.errors[3], HeaderError::Duplicate { ref value, .. } if value == "4"));
    assert_eq!(
        snap.dim(&Dimension::Requests).unwrap().remaining,
        Some(3),
        "first kept"
    );
    let strict = parse_headers_strict(
        [("a", "b"), ("x-ratelimit-limit-requests", "lots")],
        Provider::Auto,
        None,
    );
    assert!(
        matches!(strict, Err(HeaderError::Value { ref header, .. }) if header == "x-ratelimit-limit-requests")
    );
}

#[test]
fn a_valid_value_after_an_invalid_one_is_used() {
    let snap = lenient(&[
        ("x-ratelimit-limit-tokens", "x"),
        ("x-ratelimit-limit-tokens", "9"),
    ]);
    assert_eq!(snap.dim(&Dimension::Tokens).unwrap().limit, Some(9));
    assert_eq!(snap.errors.len(), 1);
}

#[test]
fn bytes_values_and_hints() {
    let headers: [(&str, &[u8]); 2] = [("retry-after", b"\xff\xfe"), ("content-type", b"\xff")];
    let snap = parse_headers(headers, Provider::Gemini, None);
    assert_eq!(snap.provider, Provider::Gemini, "a hint is kept as given");
    assert!(matches!(
        snap.errors[..],
        [HeaderError::Value {
            error: ValueError::NotUtf8 { .. },
            ..
        }]
    ));
    assert_eq!(
        snap.ignored,
        ["content-type"],
        "ignored values are not decoded"
    );
    assert!(snap.is_empty());
}

#[test]
fn header_count_is_bounded() {
    let many = (0..MAX_HEADERS + 5).map(|_| ("x-ratelimit-limit-tokens", "1"));
    let snap = parse_headers(many, Provider::Auto, None);
    assert_eq!(
        snap.errors.len(),
        MAX_HEADERS - 1 + 1,
        "duplicates, then the bound"
    );
    assert!(matches!(
        snap.errors.last(),
        Some(HeaderError::TooManyHeaders { limit: MAX_HEADERS })
    ));
}

#[test]
fn header_lines_feed_the_parser() {
    let text = "HTTP/1.1 429 Too Many Requests\nDate: Fri, 29 Sep 2023 16:26:27 GMT\n\
                Retry-After: Fri, 29 Sep 2023 16:26:57 GMT  # thirty seconds\n";
    let pairs = parse_header_lines(text).unwrap();
    let snap = parse_headers(pairs.iter().map(|(n, v)| (n, v)), Provider::Auto, None);
    assert_eq!(snap.retry_after, Some(Duration::from_secs(30)));
    assert_eq!(
        snap.to_json(),
        concat!(
            r#"{"provider":"generic","date":"2023-09-29T16:26:27Z","retry_after_ns":30000000000,"#,
            r#""retry_at":"2023-09-29T16:26:57Z","should_retry":null,"dims":{},"ignored":[],"errors":[]}"#
        )
    );
}

#[test]
fn x_should_retry_is_read_as_the_sdks_read_it() {
    assert_eq!(lenient(&[]).should_retry, None);
    assert_eq!(
        lenient(&[("x-should-retry", "true")]).should_retry,
        Some(true)
    );
    assert_eq!(
        lenient(&[("X-Should-Retry", "false")]).should_retry,
        Some(false)
    );
    // openai-python compares the exact strings: anything else says nothing, and is reported.
    let odd = lenient(&[("x-should-retry", "yes")]);
    assert_eq!(odd.should_retry, None);
    assert_eq!(odd.errors.len(), 1, "{:?}", odd.errors);
    assert!(odd.ignored.is_empty(), "{:?}", odd.ignored);
    let twice = lenient(&[("x-should-retry", "false"), ("x-should-retry", "true")]);
    assert_eq!(twice.should_retry, Some(false), "the first one wins");
    assert_eq!(twice.errors.len(), 1, "{:?}", twice.errors);
    assert!(
        lenient(&[("x-should-retry", "true")])
            .to_json()
            .contains(r#""retry_at":null,"should_retry":true,"dims""#)
    );
}
