//! Limits, remaining counts and utilization: integers with Azure's sentinel rules.
//!
//! - **limit**: a negative value (Azure's `-1`) means "unknown" → `None`. Zero is kept: a
//!   limit of zero is a real answer ("no access").
//! - **remaining**: `-1` means "unknown" (Azure sends it beside a `-1` limit); any *other*
//!   negative value is kept, because Azure reports real over-consumption (`-27689` on a
//!   successful response) and a headroom policy should see that debt.
//! - **utilization**: a decimal fraction of the limit used, kept as integer parts per million
//!   (truncated); negative means unknown; above 1 (over the limit) is kept.
//!
//! Magnitudes beyond the type saturate, like everywhere in this module.

use super::decimal::{Decimal, parse_signed_int};
use super::error::{ValueError, excerpt};

/// Parts per million in a whole.
pub const PPM: u64 = 1_000_000;

fn invalid(value: &str, expected: &'static str) -> ValueError {
    ValueError::InvalidNumber {
        value: excerpt(value),
        expected,
    }
}

/// A limit header: `Some(n)`, or `None` when the provider reports a negative (unknown) limit.
pub fn parse_limit(value: &str) -> Result<Option<u64>, ValueError> {
    let text = value.trim_matches([' ', '\t']);
    if text.starts_with('-') {
        return parse_signed_int(text)
            .map(|_| None)
            .ok_or_else(|| invalid(value, "an integer"));
    }
    match Decimal::parse(text) {
        Some(d) if !text.contains('.') => Ok(Some(d.int_saturating())),
        _ => Err(invalid(value, "an integer")),
    }
}

/// A remaining header: `Some(n)` (negative = consumed beyond the limit), `None` for `-1`.
pub fn parse_remaining(value: &str) -> Result<Option<i64>, ValueError> {
    let text = value.trim_matches([' ', '\t']);
    match parse_signed_int(text) {
        Some(-1) => Ok(None),
        Some(n) => Ok(Some(n)),
        None => Err(invalid(value, "an integer")),
    }
}

/// A utilization header (`0.042598363636363636`) in parts per million; `None` if negative.
pub fn parse_utilization_ppm(value: &str) -> Result<Option<u64>, ValueError> {
    let text = value.trim_matches([' ', '\t']);
    let expected = "a decimal fraction such as 0.25";
    match text.strip_prefix('-') {
        Some(rest) => Decimal::parse(rest)
            .map(|_| None)
            .ok_or_else(|| invalid(value, expected)),
        None => Decimal::parse(text)
            .map(|d| Some(d.scaled(PPM)))
            .ok_or_else(|| invalid(value, expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit("5000"), Ok(Some(5000)));
        assert_eq!(parse_limit("96000"), Ok(Some(96_000)));
        assert_eq!(parse_limit("0"), Ok(Some(0)));
        assert_eq!(parse_limit("-1"), Ok(None), "-1 = unknown");
        assert_eq!(parse_limit("-7"), Ok(None), "negative = unknown");
        assert_eq!(parse_limit("99999999999999999999"), Ok(Some(u64::MAX)));
        for bad in ["", "-", "1.5", "1e3", "ten", "--1"] {
            assert!(parse_limit(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn remaining() {
        assert_eq!(parse_remaining("4999"), Ok(Some(4999)));
        assert_eq!(parse_remaining("-27689"), Ok(Some(-27_689)), "debt is kept");
        assert_eq!(parse_remaining("-1"), Ok(None), "-1 = unknown");
        assert_eq!(parse_remaining("997912692"), Ok(Some(997_912_692)));
        assert_eq!(parse_remaining("-99999999999999999999"), Ok(Some(i64::MIN)));
        assert!(parse_remaining("1.0").is_err());
    }

    #[test]
    fn utilization() {
        assert_eq!(
            parse_utilization_ppm("0.042598363636363636"),
            Ok(Some(42_598))
        );
        assert_eq!(parse_utilization_ppm("1"), Ok(Some(PPM)));
        assert_eq!(parse_utilization_ppm("1.25"), Ok(Some(1_250_000)));
        assert_eq!(parse_utilization_ppm("-0.5"), Ok(None));
        assert!(parse_utilization_ppm("5%").is_err());
    }
}
