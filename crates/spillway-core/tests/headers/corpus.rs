//! Every line of the shared corpus yields a typed value or a typed error, and where its trailing
//! comment states a meaning, that meaning.

use spillway_core::Duration;
use spillway_core::upstream::headers::{
    Dimension, HeaderError, Provider, RateLimitSnapshot, ValueError, parse_header_lines,
    parse_headers, parse_headers_strict,
};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/provider-headers.txt"
);

/// The "now" of the SDK tests the retry-after values come from.
const SDK_DATE: &str = "Fri, 29 Sep 2023 16:26:27 GMT";
/// The `Date` of the Anthropic capture (one second after its whole-second reset).
const ANTHROPIC_DATE: &str = "Thu, 21 Aug 2025 12:41:00 GMT";

/// One corpus line: the header, and the trailing comment if any.
struct Line {
    number: usize,
    name: String,
    value: String,
    comment: String,
}

fn corpus() -> Option<Vec<Line>> {
    let Ok(text) = std::fs::read_to_string(CORPUS) else {
        spillway_testkit::skip_or_fail(
            "SPILLWAY_REQUIRE_SHARED",
            "../shared/provider-headers.txt not found (it lives beside the clone)",
        );
        return None;
    };
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let comment = raw
            .find(" #")
            .map_or("", |i| raw[i + 2..].trim())
            .to_owned();
        let pairs = parse_header_lines(raw)
            .unwrap_or_else(|e| panic!("line {}: not a header line: {e}", index + 1));
        let [(name, value)] = &pairs[..] else {
            panic!("line {}: expected one header, got {pairs:?}", index + 1)
        };
        let value = String::from_utf8(value.clone()).expect("corpus is UTF-8");
        lines.push(Line {
            number: index + 1,
            name: name.clone(),
            value,
            comment,
        });
    }
    Some(lines)
}

/// The line parsed alone with the `Date` of the capture it came from.
fn parse(line: &Line) -> Result<RateLimitSnapshot, HeaderError> {
    let date = if line.name.starts_with("anthropic") {
        ANTHROPIC_DATE
    } else {
        SDK_DATE
    };
    let headers = [("date", date), (line.name.as_str(), line.value.as_str())];
    parse_headers_strict(headers, Provider::Auto, None)
}

fn describe(result: &Result<RateLimitSnapshot, HeaderError>) -> String {
    match result {
        Ok(snap) => {
            let dims: Vec<String> = snap
                .dims
                .iter()
                .map(|(d, s)| format!("{d}: {s:?}"))
                .collect();
            format!(
                "{} retry_after={:?} {}",
                snap.provider,
                snap.retry_after,
                dims.join("; ")
            )
        }
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn every_line_is_a_typed_value_or_a_typed_error() {
    let Some(lines) = corpus() else { return };
    assert!(
        lines.len() >= 20,
        "the corpus shrank to {} lines",
        lines.len()
    );
    for line in &lines {
        let result = parse(line);
        eprintln!(
            "{:>3} {}: {} => {}",
            line.number,
            line.name,
            line.value,
            describe(&result)
        );
        match &result {
            Ok(snap) => {
                assert!(!snap.is_empty(), "line {}: nothing recognised", line.number);
                assert!(
                    snap.ignored.is_empty(),
                    "line {}: {:?}",
                    line.number,
                    snap.ignored
                );
            }
            Err(HeaderError::Value { header, .. }) => assert_eq!(header, &line.name),
            Err(other) => panic!("line {}: unexpected error kind {other}", line.number),
        }
        check_comment(line, &result);
    }
}

/// Asserts what the trailing comment says the line means.
fn check_comment(line: &Line, result: &Result<RateLimitSnapshot, HeaderError>) {
    let at = format!("line {} ({:?})", line.number, line.comment);
    let comment = line.comment.to_ascii_lowercase();
    let value_error = result.as_ref().err().and_then(HeaderError::value_error);
    if comment.contains("invalid: negative") {
        assert!(
            matches!(value_error, Some(ValueError::NegativeRetryAfter { .. })),
            "{at}"
        );
    } else if comment.contains("invalid weekday") {
        let ok = matches!(value_error, Some(ValueError::InvalidDate { reason, .. }) if *reason == "invalid weekday");
        assert!(ok, "{at}: {result:?}");
    } else if comment.contains("invalid") {
        assert!(result.is_err(), "{at}");
    } else if !comment.is_empty() {
        check_meaning(
            line,
            &comment,
            result.as_ref().unwrap_or_else(|e| panic!("{at}: {e}")),
        );
    }
}

fn check_meaning(line: &Line, comment: &str, snap: &RateLimitSnapshot) {
    let at = format!("line {} ({:?})", line.number, line.comment);
    let state = snap.dims.values().next();
    if comment.contains("http-date") {
        let (Some(retry_at), Some(date)) = (snap.retry_at, snap.date) else {
            panic!("{at}")
        };
        assert_eq!(
            snap.retry_after,
            Some(retry_at.saturating_since(date)),
            "{at}"
        );
        assert!(snap.retry_after.unwrap() > Duration::ZERO, "{at}");
    }
    if comment.contains("per-day request limit") {
        // Longer than a minute, so not a per-minute window; at most a day.
        let reset = snap.dims[&Dimension::Requests]
            .reset_after
            .expect("a reset");
        assert!(
            reset > Duration::from_secs(60) && reset <= Duration::from_secs(86_400),
            "{at}"
        );
        if line.value == "2m52.8s" {
            // 2 of 1000 requests used, refilled linearly over a day: exactly 172.8 s.
            assert_eq!(
                reset,
                Duration::from_nanos(86_400_000_000_000 * 2 / 1000),
                "{at}"
            );
        }
    }
    if comment.contains("-1 means unknown") || comment.contains("-1 = unknown") {
        let state = state.expect("the dimension is reported");
        assert_eq!(
            (state.limit, state.remaining, state.reset_after),
            (None, None, None),
            "{at}"
        );
    }
    if comment.contains("negative remaining") {
        let remaining = state.and_then(|s| s.remaining).expect("a remaining count");
        assert!(remaining < 0, "{at}");
        assert_eq!(
            line.value.parse::<i64>().ok(),
            Some(remaining),
            "{at}: kept exactly"
        );
    }
    if comment.contains("hyphenated") {
        assert_eq!(snap.provider, Provider::Azure, "{at}");
        let reset = state.and_then(|s| s.reset_after).expect("a reset");
        assert_eq!(
            Some(reset),
            line.value.parse().ok().map(Duration::from_secs),
            "{at}"
        );
    }
}

#[test]
fn the_whole_corpus_at_once_reports_each_bad_line_and_each_duplicate() {
    let Some(lines) = corpus() else { return };
    let text = std::fs::read_to_string(CORPUS).expect("read above");
    let pairs = parse_header_lines(&text).expect("every line is a header line");
    assert_eq!(pairs.len(), lines.len());
    let snap = parse_headers(pairs.iter().map(|(n, v)| (n, v)), Provider::Auto, None);
    let individually_bad = lines.iter().filter(|l| parse(l).is_err()).count();
    let value_errors = snap
        .errors
        .iter()
        .filter(|e| e.value_error().is_some())
        .count();
    assert!(value_errors <= individually_bad, "{:#?}", snap.errors);
    assert_eq!(
        snap.provider,
        Provider::Anthropic,
        "the most specific family wins"
    );
    assert!(snap.errors.iter().all(|e| e.header().is_some()));
}
