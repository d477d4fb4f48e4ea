//! `retry-after` (seconds or an HTTP-date) and `retry-after-ms` (milliseconds).
//!
//! RFC 9110 defines `Retry-After` as non-negative integer seconds or an HTTP-date; providers
//! and the official SDKs also use fractional seconds, so those are accepted (exactly). A bare
//! number is always a *delay* here, never a Unix time: unlike reset headers, no provider sends
//! epochs in `retry-after`, and the RFC says it is a delay.
//!
//! A negative hint is an error, not a zero: "-10" means the sender is broken, and a caller
//! should fall back to its own backoff rather than retry immediately.

use super::decimal::Decimal;
use super::duration::{parse_millis, parse_seconds};
use super::error::{ValueError, excerpt};
use super::http_date::parse_http_date;
use super::unix_nanos::UnixNanos;
use crate::time::Duration;

/// A parsed `retry-after`: a delay, or an instant to be measured against the response `Date`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long from when the response was generated.
    Delay(Duration),
    /// Wait until this wall-clock instant (on the provider's clock).
    At(UnixNanos),
}

impl RetryAfter {
    /// The wait measured from `date` (the response's `Date`): a delay as is, an instant as the
    /// difference, clamped to zero when it is already past (whole-second dates, clock skew).
    pub fn relative_to(self, date: UnixNanos) -> Duration {
        match self {
            RetryAfter::Delay(d) => d,
            RetryAfter::At(at) => at.saturating_since(date),
        }
    }
}

/// If `text` is `-<decimal>`, whether that decimal is non-zero (`-0` is just zero).
fn negative_number(text: &str) -> Option<bool> {
    let rest = text.strip_prefix('-')?;
    Decimal::parse(rest).map(|d| !d.is_zero())
}

/// Parses a `retry-after` value: decimal seconds (`56`, `1.5`) or an HTTP-date.
///
/// Errors: [`ValueError::NegativeRetryAfter`] for `-10`; [`ValueError::InvalidDate`] for text
/// that starts with a letter but is no HTTP-date (`Zun, 29 Sep 2023 …`);
/// [`ValueError::InvalidNumber`] otherwise. Huge numbers saturate at [`Duration::MAX`].
pub fn parse_retry_after(value: &str) -> Result<RetryAfter, ValueError> {
    let text = value.trim_matches([' ', '\t']);
    match negative_number(text) {
        Some(true) => {
            return Err(ValueError::NegativeRetryAfter {
                value: excerpt(value),
            });
        }
        Some(false) => return Ok(RetryAfter::Delay(Duration::ZERO)),
        None => {}
    }
    if text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return parse_http_date(text).map(RetryAfter::At);
    }
    parse_seconds(text)
        .map(RetryAfter::Delay)
        .map_err(|_| ValueError::InvalidNumber {
            value: excerpt(value),
            expected: "seconds (a non-negative decimal) or an HTTP-date",
        })
}

/// Parses a `retry-after-ms` value (Azure, OpenAI): non-negative decimal milliseconds.
pub fn parse_retry_after_ms(value: &str) -> Result<Duration, ValueError> {
    let text = value.trim_matches([' ', '\t']);
    match negative_number(text) {
        Some(true) => Err(ValueError::NegativeRetryAfter {
            value: excerpt(value),
        }),
        Some(false) => Ok(Duration::ZERO),
        None => parse_millis(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Fri, 29 Sep 2023 16:26:27 GMT`, the "now" of the SDK tests these values come from.
    const NOW: UnixNanos = UnixNanos::from_secs(1_696_004_787);

    fn wait(text: &str) -> Duration {
        parse_retry_after(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .relative_to(NOW)
    }

    #[test]
    fn seconds_and_dates() {
        assert_eq!(wait("56"), Duration::from_secs(56));
        assert_eq!(wait("11"), Duration::from_secs(11));
        assert_eq!(wait("0"), Duration::ZERO);
        assert_eq!(wait("-0"), Duration::ZERO);
        assert_eq!(wait("1.5"), Duration::from_millis(1500));
        assert_eq!(
            wait("Fri, 29 Sep 2023 16:26:57 GMT"),
            Duration::from_secs(30)
        );
        assert_eq!(
            wait("Fri, 29 Sep 2023 16:26:00 GMT"),
            Duration::ZERO,
            "past: clamped"
        );
        assert_eq!(wait("99999999999999999999"), Duration::MAX);
    }

    #[test]
    fn bad_hints_are_typed() {
        assert_eq!(
            parse_retry_after("-10"),
            Err(ValueError::NegativeRetryAfter {
                value: "-10".into()
            })
        );
        assert!(matches!(
            parse_retry_after("Zun, 29 Sep 2023 16:26:27 GMT"),
            Err(ValueError::InvalidDate {
                reason: "invalid weekday",
                ..
            })
        ));
        for bad in ["", "5s", "1e3", "-x", "--1", "+5"] {
            assert!(
                matches!(
                    parse_retry_after(bad),
                    Err(ValueError::InvalidNumber { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn milliseconds() {
        assert_eq!(parse_retry_after_ms("120000"), Ok(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after_ms("1500.5"),
            Ok(Duration::from_micros(1_500_500))
        );
        assert!(matches!(
            parse_retry_after_ms("-1"),
            Err(ValueError::NegativeRetryAfter { .. })
        ));
        assert!(matches!(
            parse_retry_after_ms("soon"),
            Err(ValueError::InvalidNumber { .. })
        ));
    }
}
