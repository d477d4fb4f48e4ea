//! No panic on any input, bounded output, and the invariants that hold for every input:
//! lenient and strict agree, names are case-insensitive, the snapshot's JSON is well formed.

use proptest::prelude::*;
use spillway_core::upstream::headers::{
    HeaderError, MAX_HEADERS, Provider, RateLimitSnapshot, UnixNanos, parse_go_duration,
    parse_header_lines, parse_headers, parse_headers_strict, parse_http_date, parse_limit,
    parse_millis, parse_remaining, parse_reset, parse_retry_after, parse_retry_after_ms,
    parse_rfc3339, parse_seconds, parse_utilization_ppm,
};

use crate::{FUZZ_CASES, config};

/// Header names that reach every classification path: known prefixes with arbitrary tails,
/// real names in random case, and arbitrary bytes.
fn name() -> impl Strategy<Value = String> {
    let prefixes = [
        "x-ratelimit-",
        "x-rate-limit-",
        "ratelimit-",
        "anthropic-ratelimit-",
        "anthropic-priority-",
        "ratelimitbysize-",
        "x-ratelimitbysize-",
        "x-ms-",
        "openai-",
        "retry-after",
        "date",
    ];
    let tails = [
        "",
        "limit",
        "remaining",
        "reset",
        "limit-requests",
        "reset-tokens",
        "tokens-reset",
        "unified-5h-utilization",
        "remaining-month",
        "-ms",
        "remaining-tokens_usage_based",
    ];
    prop_oneof![
        (
            prop::sample::select(prefixes.to_vec()),
            prop::sample::select(tails.to_vec())
        )
            .prop_map(|(p, t)| format!("{p}{t}")),
        (prop::sample::select(prefixes.to_vec()), "\\PC{0,12}")
            .prop_map(|(p, t)| format!("{p}{t}")),
        "[A-Za-z-]{1,40}",
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Values near every format, and arbitrary bytes.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[-+0-9.a-zµμ :,TZ]{0,30}".prop_map(String::into_bytes),
        "-?[0-9]{1,25}(\\.[0-9]{0,25})?".prop_map(String::into_bytes),
        "([0-9]{1,4}(\\.[0-9]{1,3})?(h|m|s|ms|us|µs|ns)){1,4}".prop_map(String::into_bytes),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2})?"
            .prop_map(String::into_bytes),
        "(Mon|Fri|Zun|Friday), [0-9]{2}[ -](Sep|Spt)[ -][0-9]{2,4} [0-9]{2}:[0-9]{2}:[0-9]{2} (GMT|UTC)"
            .prop_map(String::into_bytes),
        any::<Vec<u8>>(),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    prop::collection::vec((name(), value()), 0..16)
}

fn fallback() -> impl Strategy<Value = Option<UnixNanos>> {
    proptest::option::of(any::<i64>().prop_map(UnixNanos::from_nanos))
}

fn provider() -> impl Strategy<Value = Provider> {
    prop::sample::select(Provider::ALL.to_vec())
}

fn parse(
    headers: &[(String, Vec<u8>)],
    provider: Provider,
    date: Option<UnixNanos>,
) -> RateLimitSnapshot {
    parse_headers(headers.iter().map(|(n, v)| (n, v)), provider, date)
}

/// A minimal JSON shape check: balanced brackets outside strings, valid escapes.
fn well_formed_json(json: &str) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for c in json.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, c) if (c as u32) < 0x20 => return false,
            (false, _, '"') => in_string = true,
            (false, _, '{' | '[') => depth += 1,
            (false, _, '}' | ']') => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0 && !in_string && json.starts_with('{') && json.ends_with('}')
}

proptest! {
    #![proptest_config(config("robustness", FUZZ_CASES))]

    #[test]
    fn any_headers_parse_without_panic_and_strict_agrees(
        headers in headers(), provider in provider(), date in fallback()
    ) {
        let snap = parse(&headers, provider, date);
        prop_assert_ne!(snap.provider, Provider::Auto);
        if provider != Provider::Auto {
            prop_assert_eq!(snap.provider, provider);
        }
        prop_assert!(snap.errors.len() <= headers.len());
        prop_assert!(snap.ignored.len() <= headers.len());
        prop_assert!(well_formed_json(&snap.to_json()), "{}", snap.to_json());
        for e in &snap.errors {
            prop_assert!(e.to_string().chars().count() < 600, "{}", e);
        }
        let strict = parse_headers_strict(headers.iter().map(|(n, v)| (n, v)), provider, date);
        match (strict, snap.errors.first()) {
            (Ok(strict), None) => prop_assert_eq!(strict, snap),
            (Err(e), Some(first)) => prop_assert_eq!(&e, first),
            (strict, first) => prop_assert!(false, "strict {:?} vs lenient {:?}", strict, first),
        }
    }

    #[test]
    fn names_are_case_insensitive(headers in headers(), date in fallback(), flips in any::<u64>()) {
        let flipped: Vec<(String, Vec<u8>)> = headers
            .iter()
            .enumerate()
            .map(|(i, (n, v))| {
                let n = if flips >> (i % 64) & 1 == 1 { n.to_ascii_uppercase() } else { n.to_ascii_lowercase() };
                (n, v.clone())
            })
            .collect();
        let (a, b) = (parse(&headers, Provider::Auto, date), parse(&flipped, Provider::Auto, date));
        prop_assert_eq!(
            (a.provider, a.date, a.retry_after, a.retry_at, &a.dims, &a.ignored, a.errors.len()),
            (b.provider, b.date, b.retry_after, b.retry_at, &b.dims, &b.ignored, b.errors.len())
        );
    }

    #[test]
    fn every_value_parser_accepts_any_string(text in prop_oneof![
        any::<String>(),
        value().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]) {
        // Each returns a value or a typed error; none may panic.
        let _ = parse_go_duration(&text);
        let _ = parse_seconds(&text);
        let _ = parse_millis(&text);
        let _ = parse_retry_after(&text);
        let _ = parse_retry_after_ms(&text);
        let _ = parse_http_date(&text);
        let _ = parse_rfc3339(&text);
        let _ = parse_reset(&text);
        let _ = parse_limit(&text);
        let _ = parse_remaining(&text);
        let _ = parse_utilization_ppm(&text);
    }

    #[test]
    fn header_lines_accept_any_text(text in prop_oneof![
        any::<String>(),
        "([A-Za-z: #\t\r-]|\n|[0-9]){0,200}",
    ]) {
        match parse_header_lines(&text) {
            Ok(pairs) => {
                for (name, _) in pairs {
                    prop_assert!(!name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':'));
                }
            }
            Err(HeaderError::InvalidLine { line, .. }) => prop_assert!(line >= 1),
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}

#[test]
fn huge_and_hostile_inputs_are_bounded() {
    let long = "9".repeat(100_000);
    let snap = parse_headers(
        [
            ("retry-after", long.as_str()),
            ("x-ratelimit-limit-tokens", long.as_str()),
        ],
        Provider::Auto,
        None,
    );
    assert_eq!(snap.retry_after, Some(spillway_core::Duration::MAX));
    assert!(snap.errors.is_empty());
    let junk = "\u{fffd}".repeat(10_000);
    let snap = parse_headers([("retry-after", junk.as_str())], Provider::Auto, None);
    assert!(snap.errors[0].to_string().chars().count() < 300);
    let many = (0..MAX_HEADERS * 4).map(|i| (format!("x-{i}"), "v"));
    let snap = parse_headers(many, Provider::Auto, None);
    assert_eq!(snap.ignored.len(), MAX_HEADERS);
}

/// A malformed line's error must not echo a credential: a pasted `curl -v` request line
/// (`> authorization: Bearer …`) fails to parse, and `spillway inspect-headers` prints the error.
#[test]
fn a_bad_line_error_does_not_echo_a_bearer_token() {
    let token = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    for text in [
        format!("x-ratelimit-limit-requests: 60\n> authorization: Bearer {token}\n"),
        format!("x-ratelimit-limit-requests: 60\n{token}\n"),
        format!("  authorization: Bearer {token}\n"),
    ] {
        let err = spillway_core::upstream::headers::parse_header_lines(&text).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("AbCdEfGhIjKl"), "secret echoed: {shown}");
    }
}
