//! Reset values in every provider format, told apart by syntax alone:
//!
//! | text | meaning | sent by |
//! |---|---|---|
//! | `6m0s`, `12ms`, `2m52.8s` | Go duration: wait | OpenAI, Groq |
//! | `55`, `0.5` (≤ 10^9) | seconds: wait | Azure, Mistral, IETF `RateLimit-Reset` |
//! | `1755780059` (> 10^9) | Unix time in seconds | GitHub-style `X-RateLimit-Reset`, Anthropic unified |
//! | `2025-08-21T12:40:59Z` | RFC 3339 instant | Anthropic |
//! | `Fri, 29 Sep 2023 16:26:57 GMT` | HTTP-date instant | (rare; accepted because it is cheap) |
//! | `-1`, `-5s` | unknown | Azure's "not reported" |
//!
//! **Epoch or delta?** A bare number above 10^9 is a Unix time, otherwise a delay in seconds.
//! 10^9 s is 31.7 years, far beyond any wait, and every Unix time since 2001-09-09 exceeds it, so
//! the rule is right for every plausible value and needs no configuration that could be wrong.
//! Exactly 10^9 is a delay (the rule is "greater than").

use super::date::parse_rfc3339;
use super::decimal::Decimal;
use super::duration::parse_go_duration;
use super::error::{ValueError, excerpt};
use super::http_date::parse_http_date;
use super::unix_nanos::UnixNanos;
use crate::time::Duration;

/// Bare-number resets strictly greater than this many seconds are Unix times.
pub const EPOCH_THRESHOLD_SECS: u64 = 1_000_000_000;

const NS_PER_S: u64 = 1_000_000_000;

/// What a reset header says.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reset {
    /// The limit is fully replenished after this long (from the response's `Date`).
    After(Duration),
    /// The limit is fully replenished at this wall-clock instant (provider's clock).
    At(UnixNanos),
    /// The provider said it does not know (a negative value such as Azure's `-1`).
    Unknown,
}

impl Reset {
    /// The wait from `date`, if known: an instant is measured against the response's own
    /// `Date` (immune to skew between its clock and ours) and clamped to zero once past.
    pub fn after(self, date: Option<UnixNanos>) -> Option<Duration> {
        match self {
            Reset::After(d) => Some(d),
            Reset::At(at) => date.map(|date| at.saturating_since(date)),
            Reset::Unknown => None,
        }
    }
}

/// Parses a reset value in any format of the module table; spaces and tabs around it are
/// ignored. Huge numbers saturate ([`Duration::MAX`], [`UnixNanos::MAX`]).
pub fn parse_reset(value: &str) -> Result<Reset, ValueError> {
    let text = value.trim_matches([' ', '\t']);
    if let Some(rest) = text.strip_prefix('-') {
        let number = Decimal::parse(rest).is_some() || parse_go_duration(rest).is_ok();
        return if number {
            Ok(Reset::Unknown)
        } else {
            Err(ValueError::InvalidReset {
                value: excerpt(value),
            })
        };
    }
    if let Some(number) = Decimal::parse(text) {
        let nanos = number.scaled(NS_PER_S);
        return Ok(if nanos > EPOCH_THRESHOLD_SECS * NS_PER_S {
            Reset::At(UnixNanos::from_nanos(
                i64::try_from(nanos).unwrap_or(i64::MAX),
            ))
        } else {
            Reset::After(Duration::from_nanos(nanos))
        });
    }
    let bytes = text.as_bytes();
    let starts_with_year = bytes.len() > 4 && bytes[..4].iter().all(u8::is_ascii_digit);
    if starts_with_year && bytes[4] == b'-' {
        return parse_rfc3339(text).map(Reset::At);
    }
    let first = bytes.first().copied().unwrap_or(b' ');
    if first.is_ascii_alphabetic() && text.contains(' ') {
        return parse_http_date(text).map(Reset::At);
    }
    if first.is_ascii_digit() || first == b'.' || first == b'+' {
        return parse_go_duration(text).map(Reset::After);
    }
    Err(ValueError::InvalidReset {
        value: excerpt(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reset(text: &str) -> Reset {
        parse_reset(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    const DATE: UnixNanos = UnixNanos::from_secs(1_755_780_060); // 2025-08-21T12:41:00Z

    #[test]
    fn every_format_is_told_apart_by_syntax() {
        assert_eq!(reset("12ms"), Reset::After(Duration::from_millis(12)));
        assert_eq!(reset("6m0s"), Reset::After(Duration::from_secs(360)));
        assert_eq!(reset("55"), Reset::After(Duration::from_secs(55)));
        assert_eq!(reset("0"), Reset::After(Duration::ZERO));
        assert_eq!(reset("0.5"), Reset::After(Duration::from_millis(500)));
        assert_eq!(
            reset("1000000000"),
            Reset::After(Duration::from_secs(1_000_000_000))
        );
        assert_eq!(
            reset("1000000001"),
            Reset::At(UnixNanos::from_secs(1_000_000_001))
        );
        assert_eq!(
            reset("1755780059"),
            Reset::At(UnixNanos::from_secs(1_755_780_059))
        );
        assert_eq!(
            reset("2025-08-21T12:40:59Z"),
            Reset::At(UnixNanos::from_secs(1_755_780_059))
        );
        assert_eq!(
            reset("Thu, 21 Aug 2025 12:41:30 GMT"),
            Reset::At(UnixNanos::from_secs(1_755_780_090))
        );
        assert_eq!(reset("-1"), Reset::Unknown);
        assert_eq!(reset("-5s"), Reset::Unknown);
        assert_eq!(reset("99999999999999999999"), Reset::At(UnixNanos::MAX));
    }

    #[test]
    fn instants_become_waits_against_the_date() {
        let at = reset("2025-08-21T12:40:59Z");
        assert_eq!(at.after(Some(DATE)), Some(Duration::ZERO), "skew: clamped");
        assert_eq!(
            reset("2025-08-21T12:41:30Z").after(Some(DATE)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(at.after(None), None);
        assert_eq!(Reset::Unknown.after(Some(DATE)), None);
        assert_eq!(reset("55").after(None), Some(Duration::from_secs(55)));
    }

    #[test]
    fn garbage_gets_the_most_specific_error() {
        let invalid_reset =
            |t: &str| matches!(parse_reset(t), Err(ValueError::InvalidReset { .. }));
        assert!(invalid_reset(""));
        assert!(invalid_reset("soon"));
        assert!(invalid_reset("-soon"));
        assert!(invalid_reset("µs"));
        assert!(matches!(
            parse_reset("12d"),
            Err(ValueError::InvalidDuration { .. })
        ));
        assert!(matches!(
            parse_reset("2025-08-21T25:00:00Z"),
            Err(ValueError::InvalidDate { .. })
        ));
        assert!(matches!(
            parse_reset("Zun, 29 Sep 2023 16:26:27 GMT"),
            Err(ValueError::InvalidDate { .. })
        ));
    }
}
