//! Human units in policy and scenario files: durations (`500ms`, `9h15m`), rates (`2/min`), money.
//!
//! Parsed by hand into integers so that `1.5s` is exactly 1_500_000_000 ns and a typo names
//! what is allowed instead of becoming a float.

use crate::Duration;
use crate::time::duration_text::{DurationGrammar, HUMAN_DURATION_FORMS, parse_duration_text};

/// What a duration may look like, for error messages.
pub const DURATION_FORMS: &str = HUMAN_DURATION_FORMS;
/// What a rate may look like, for error messages.
pub const RATE_FORMS: &str = "`N/s`, `N/min`, `N/h` or `N/d`, e.g. `0.5/min` or `10/s`";

/// Parse `1.5s`, `250ms`, `9h15m`, `1h 30m`, `1d` into exact nanoseconds, with the
/// workspace's one duration grammar ([`crate::time::duration_text`]).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_text(text, DurationGrammar::Human).map_err(|e| {
        format!(
            "`{}` is not a duration ({}); expected {DURATION_FORMS}",
            text.trim(),
            e.reason()
        )
    })
}

/// `number × unit` for a plain decimal `number`, exactly, truncating below 1 ns; `None` if the
/// text is not a decimal or the result overflows.
fn scale_decimal(number: &str, unit: u64) -> Option<u64> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(whole) || !digits_ok(frac) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut total = whole.checked_mul(unit)?;
    let mut place = unit;
    for digit in frac.bytes() {
        place /= 10;
        total = total.checked_add(u64::from(digit - b'0') * place)?;
    }
    Some(total)
}

/// Parse a rate such as `0.5/min` into events per second.
///
/// Rates drive random arrival generation, which is floating point by nature; limiter state
/// never sees this value.
pub fn parse_rate_per_sec(text: &str) -> Result<f64, String> {
    let (number, per) = text
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a rate; expected {RATE_FORMS}"))?;
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{number}` in `{text}` is not a number; expected {RATE_FORMS}"))?;
    let seconds = match per.trim() {
        "s" | "sec" => 1.0,
        "min" | "m" => 60.0,
        "h" | "hour" => 3600.0,
        "d" | "day" => 86_400.0,
        other => {
            return Err(format!(
                "unknown rate unit `/{other}`; expected {RATE_FORMS}"
            ));
        }
    };
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("rate `{text}` must be greater than 0"));
    }
    Ok(value / seconds)
}

/// US dollars per million tokens (`0.15`) → exact nano-USD per million tokens.
pub fn usd_to_nano_usd(usd_text: &str) -> Option<u64> {
    scale_decimal(usd_text.trim(), 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_exact() {
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0.1ms").unwrap(), Duration::from_micros(100));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(
            parse_duration("9h15m").unwrap(),
            Duration::from_secs(33_300)
        );
        assert_eq!(
            parse_duration("1h 30m").unwrap(),
            Duration::from_secs(5_400)
        );
    }

    #[test]
    fn bad_durations_say_what_is_allowed() {
        for bad in ["15", "15x", "ms", "1.2.3s", "-5s", "99999999999999999999d"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("ms"), "{bad}: {err}");
        }
    }

    #[test]
    fn rates_convert_to_per_second() {
        assert_eq!(parse_rate_per_sec("120/min").unwrap(), 2.0);
        assert_eq!(parse_rate_per_sec("10/s").unwrap(), 10.0);
        assert!(parse_rate_per_sec("0/s").is_err());
        assert!(parse_rate_per_sec("-1/s").is_err());
        assert!(
            parse_rate_per_sec("5/fortnight")
                .unwrap_err()
                .contains("/min")
        );
    }

    #[test]
    fn money_is_exact_nano_usd() {
        assert_eq!(usd_to_nano_usd("0.15"), Some(150_000_000));
        assert_eq!(usd_to_nano_usd("2.5"), Some(2_500_000_000));
        assert_eq!(usd_to_nano_usd("-1"), None);
    }
}
