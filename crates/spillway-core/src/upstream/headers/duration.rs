//! Relative waits as text: Go durations (`6m0s`, `2m52.8s`, `12ms`) and plain decimal seconds
//! or milliseconds (`55`, `1.5`, `120000`).
//!
//! OpenAI (and Groq) print resets with Go's `time.Duration.String`; Gemini's `retryDelay` and
//! other protobuf durations (`"57.238747106s"`) are a subset of the same grammar, so one parser
//! serves both. Parsing is exact: every segment is scaled to integer nanoseconds by
//! [`Decimal::scaled`], digits below a nanosecond are truncated, and sums saturate.

use super::decimal::Decimal;
use super::error::{ValueError, excerpt};
use crate::time::Duration;
use crate::time::duration_text::{DurationGrammar, parse_duration_text};

const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;

/// Parses a Go-style duration: one or more `<decimal><unit>` segments with units `ns`, `us`
/// (`µs`), `ms`, `s`, `m`, `h`, or a bare `0`; surrounding spaces and tabs are ignored.
///
/// `2m52.8s` is exactly 172_800_000_000 ns. A leading `+` is accepted (Go does); a negative
/// duration is an error because a wait cannot be negative (`-0s` is zero). Values beyond
/// [`Duration::MAX`] (584 years) saturate instead of failing. The grammar lives in
/// [`crate::time::duration_text`], shared with scenario files.
pub fn parse_go_duration(value: &str) -> Result<Duration, ValueError> {
    parse_duration_text(value, DurationGrammar::Go).map_err(|e| ValueError::InvalidDuration {
        value: excerpt(value),
        reason: e.reason(),
    })
}

/// Parses non-negative decimal seconds (`55`, `1.5`) exactly; saturates beyond 584 years.
pub fn parse_seconds(value: &str) -> Result<Duration, ValueError> {
    parse_scaled(value, NS_PER_S, "seconds as a non-negative decimal number")
}

/// Parses non-negative decimal milliseconds (`120000`, `1500.5`) exactly; saturates.
pub fn parse_millis(value: &str) -> Result<Duration, ValueError> {
    parse_scaled(
        value,
        NS_PER_MS,
        "milliseconds as a non-negative decimal number",
    )
}

fn parse_scaled(value: &str, unit: u64, expected: &'static str) -> Result<Duration, ValueError> {
    let text = value.trim_matches([' ', '\t']);
    Decimal::parse(text)
        .map(|d| Duration::from_nanos(d.scaled(unit)))
        .ok_or_else(|| ValueError::InvalidNumber {
            value: excerpt(value),
            expected,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(text: &str) -> u64 {
        parse_go_duration(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .as_nanos()
    }

    fn reason(text: &str) -> &'static str {
        match parse_go_duration(text) {
            Err(ValueError::InvalidDuration { reason, .. }) => reason,
            other => panic!("{text:?}: expected InvalidDuration, got {other:?}"),
        }
    }

    #[test]
    fn openai_and_groq_resets_parse_exactly() {
        assert_eq!(go("12ms"), 12_000_000);
        assert_eq!(go("9ms"), 9_000_000);
        assert_eq!(go("64ms"), 64_000_000);
        assert_eq!(go("120ms"), 120_000_000);
        assert_eq!(go("547ms"), 547_000_000);
        assert_eq!(go("1s"), NS_PER_S);
        assert_eq!(go("3s"), 3 * NS_PER_S);
        assert_eq!(go("6m0s"), 360 * NS_PER_S);
        // Groq per-day requests: 2/1000 of a day.
        assert_eq!(go("2m52.8s"), 172_800_000_000);
        assert_eq!(go("2m52.8s"), 86_400 * NS_PER_S * 2 / 1000);
    }

    #[test]
    fn every_go_unit_and_form_is_accepted() {
        assert_eq!(go("1h2m3.5s"), 3_723_500_000_000);
        assert_eq!(go("500us"), 500_000);
        assert_eq!(go("500µs"), 500_000);
        assert_eq!(go("500μs"), 500_000);
        assert_eq!(go("7ns"), 7);
        assert_eq!(go("1.5h"), 5_400 * NS_PER_S);
        assert_eq!(go(".5s"), NS_PER_S / 2);
        assert_eq!(go("5.s"), 5 * NS_PER_S);
        assert_eq!(go("0"), 0);
        assert_eq!(go("+0"), 0);
        assert_eq!(go("-0s"), 0);
        assert_eq!(go("+3s"), 3 * NS_PER_S);
        assert_eq!(go(" 1s\t"), NS_PER_S);
        assert_eq!(go("1s1s"), 2 * NS_PER_S, "Go sums repeated units");
        // Gemini RetryInfo.retryDelay, a protobuf Duration string.
        assert_eq!(go("57.238747106s"), 57_238_747_106);
        assert_eq!(go("1.203608125s"), 1_203_608_125);
    }

    #[test]
    fn huge_durations_saturate() {
        assert_eq!(go("99999999999999999999h"), u64::MAX);
        assert_eq!(go("9999999999h9999999999h"), u64::MAX);
    }

    #[test]
    fn malformed_durations_say_why() {
        assert_eq!(reason(""), "empty");
        assert_eq!(reason("-"), "empty");
        assert_eq!(reason("12"), "missing unit");
        assert_eq!(reason("1s2"), "missing unit");
        assert_eq!(reason("12d"), "unknown unit");
        assert_eq!(reason("12 ms"), "unknown unit");
        assert_eq!(reason("12MS"), "unknown unit");
        assert_eq!(reason("ms"), "expected a number before each unit");
        assert_eq!(reason(".s"), "expected a number before each unit");
        assert_eq!(reason("1.2.3s"), "expected a number before each unit");
        assert_eq!(reason("-1s"), "negative");
    }

    #[test]
    fn plain_seconds_and_millis_are_exact() {
        assert_eq!(parse_seconds("55").unwrap(), Duration::from_secs(55));
        assert_eq!(parse_seconds("1.146").unwrap(), Duration::from_millis(1146));
        assert_eq!(parse_millis("120000").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_millis("0.5").unwrap(), Duration::from_micros(500));
        assert_eq!(
            parse_seconds("99999999999999999999").unwrap(),
            Duration::MAX
        );
        assert!(matches!(
            parse_seconds("5s"),
            Err(ValueError::InvalidNumber { .. })
        ));
        assert!(parse_millis("-1").is_err());
    }
}
