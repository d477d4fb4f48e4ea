//! Absolute times as text: RFC 3339 (Anthropic's resets) here, HTTP-dates in
//! [`super::http_date`]; both share the byte [`Cursor`] below.
//!
//! Hand-written because the crate takes no date dependency, and because the needs are narrow:
//! fixed layouts, UTC offsets, integer nanoseconds. Every field is range-checked (month, day of
//! that month, hour, minute, second ≤ 60 for a leap second, which lands on the next minute's
//! `:00`), so a malformed date is an error rather than a silently different instant.

use super::error::{ValueError, excerpt};
use super::unix_nanos::UnixNanos;
use crate::time::civil::{CivilDate, days_in_month};

const RFC3339: &str = "an RFC 3339 time like 2025-08-21T12:40:59Z";

/// A forward-only reader over ASCII bytes; every method either consumes what it matched or
/// returns `None`/`false` (positions only move forward, so no loop can spin).
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor {
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    /// Consumes `expected` if it comes next (ASCII case-insensitive).
    pub(crate) fn eat(&mut self, expected: &str) -> bool {
        let end = self.pos + expected.len();
        let matched = self
            .bytes
            .get(self.pos..end)
            .is_some_and(|b| b.eq_ignore_ascii_case(expected.as_bytes()));
        if matched {
            self.pos = end;
        }
        matched
    }

    /// Consumes exactly `n` ASCII digits as a number.
    pub(crate) fn digits(&mut self, n: usize) -> Option<u32> {
        let run = self.bytes.get(self.pos..self.pos + n)?;
        if !run.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(run.iter().fold(0, |acc, &b| acc * 10 + u32::from(b - b'0')))
    }

    /// Consumes a run of ASCII digits (possibly empty).
    pub(crate) fn digit_run(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        &self.bytes[start..self.pos]
    }

    /// Consumes a run of ASCII letters (possibly empty).
    pub(crate) fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(u8::is_ascii_alphabetic)
        {
            self.pos += 1;
        }
        &self.bytes[start..self.pos]
    }

    /// Whether everything has been consumed.
    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// A validated `HH:MM:SS` as seconds of the day (61 s in a leap-second minute).
pub(crate) fn time_of_day(cur: &mut Cursor<'_>) -> Option<i64> {
    let hour = cur.digits(2)?;
    let minute = cur.eat(":").then(|| cur.digits(2)).flatten()?;
    let second = cur.eat(":").then(|| cur.digits(2)).flatten()?;
    (hour <= 23 && minute <= 59 && second <= 60)
        .then(|| i64::from(hour * 3_600 + minute * 60 + second))
}

/// The date if `day` exists in that month.
pub(crate) fn checked_date(year: i64, month: u32, day: u32) -> Option<CivilDate> {
    (day >= 1 && day <= days_in_month(year, month)).then_some(CivilDate { year, month, day })
}

/// Fraction-of-second digits → nanoseconds (digits past the ninth are truncated).
fn fraction_nanos(digits: &[u8]) -> u32 {
    (0..9).fold(0, |acc, i| {
        acc * 10 + digits.get(i).map_or(0, |&b| u32::from(b - b'0'))
    })
}

/// Parses an RFC 3339 date-time: `YYYY-MM-DD`, `T` (or `t` or a space), `HH:MM:SS`, an optional
/// fraction, then `Z` or a `±HH:MM` offset. Surrounding spaces and tabs are ignored.
///
/// The result is UTC; `2025-08-21T14:40:59+02:00` equals `2025-08-21T12:40:59Z`.
pub fn parse_rfc3339(value: &str) -> Result<UnixNanos, ValueError> {
    let fail = |reason| ValueError::InvalidDate {
        value: excerpt(value),
        expected: RFC3339,
        reason,
    };
    let mut cur = Cursor::new(value.trim_matches([' ', '\t']));
    let date = calendar_date(&mut cur).ok_or_else(|| fail("invalid date"))?;
    if !(cur.eat("T") || cur.eat(" ")) {
        return Err(fail("expected 'T' between date and time"));
    }
    let secs = time_of_day(&mut cur).ok_or_else(|| fail("invalid time of day"))?;
    let nanos = if cur.eat(".") {
        let digits = cur.digit_run();
        if digits.is_empty() {
            return Err(fail("empty fraction of a second"));
        }
        fraction_nanos(digits)
    } else {
        0
    };
    let offset = utc_offset(&mut cur).ok_or_else(|| fail("expected 'Z' or a ±HH:MM offset"))?;
    if !cur.at_end() {
        return Err(fail("unexpected text after the time"));
    }
    Ok(UnixNanos::from_civil(date, secs - offset, nanos))
}

/// `YYYY-MM-DD`, validated.
fn calendar_date(cur: &mut Cursor<'_>) -> Option<CivilDate> {
    let year = cur.digits(4)?;
    let month = cur.eat("-").then(|| cur.digits(2)).flatten()?;
    let day = cur.eat("-").then(|| cur.digits(2)).flatten()?;
    checked_date(i64::from(year), month, day)
}

/// `Z` (0) or `±HH:MM` as signed seconds east of UTC.
fn utc_offset(cur: &mut Cursor<'_>) -> Option<i64> {
    if cur.eat("Z") {
        return Some(0);
    }
    let sign = if cur.eat("+") {
        1
    } else if cur.eat("-") {
        -1
    } else {
        return None;
    };
    let hours = cur.digits(2)?;
    let minutes = cur.eat(":").then(|| cur.digits(2)).flatten()?;
    (hours <= 23 && minutes <= 59).then(|| sign * i64::from(hours * 3_600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESET_S: i64 = 1_755_780_059; // 2025-08-21T12:40:59Z

    fn secs(text: &str) -> i64 {
        let t = parse_rfc3339(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(t.as_nanos() % 1_000_000_000, 0, "{text}");
        t.as_secs_floor()
    }

    fn reason(text: &str) -> &'static str {
        match parse_rfc3339(text) {
            Err(ValueError::InvalidDate { reason, .. }) => reason,
            other => panic!("{text:?}: expected InvalidDate, got {other:?}"),
        }
    }

    #[test]
    fn anthropic_resets_parse() {
        assert_eq!(secs("2025-08-21T12:40:59Z"), RESET_S);
        assert_eq!(secs("2025-08-21t12:40:59z"), RESET_S);
        assert_eq!(secs("2025-08-21 12:40:59Z"), RESET_S);
        assert_eq!(secs("2025-08-21T14:40:59+02:00"), RESET_S);
        assert_eq!(secs("2025-08-21T07:10:59-05:30"), RESET_S);
        assert_eq!(secs("  2025-08-21T12:40:59Z\t"), RESET_S);
        assert_eq!(secs("2016-12-31T23:59:60Z"), secs("2017-01-01T00:00:00Z"));
    }

    #[test]
    fn fractions_are_exact_nanoseconds() {
        let t = parse_rfc3339("2025-08-21T12:40:59.123456789123Z").unwrap();
        assert_eq!(t.as_nanos(), RESET_S * 1_000_000_000 + 123_456_789);
        let t = parse_rfc3339("2025-08-21T12:40:59.5Z").unwrap();
        assert_eq!(t.to_string(), "2025-08-21T12:40:59.5Z");
    }

    #[test]
    fn malformed_times_say_why() {
        assert_eq!(reason(""), "invalid date");
        assert_eq!(reason("2025-02-29T00:00:00Z"), "invalid date");
        assert_eq!(reason("2025-13-01T00:00:00Z"), "invalid date");
        assert_eq!(reason("2025-8-21T12:40:59Z"), "invalid date");
        assert_eq!(
            reason("2025-08-21X12:40:59Z"),
            "expected 'T' between date and time"
        );
        assert_eq!(reason("2025-08-21T24:00:00Z"), "invalid time of day");
        assert_eq!(reason("2025-08-21T12:60:00Z"), "invalid time of day");
        assert_eq!(
            reason("2025-08-21T12:40:59"),
            "expected 'Z' or a ±HH:MM offset"
        );
        assert_eq!(
            reason("2025-08-21T12:40:59+2:00"),
            "expected 'Z' or a ±HH:MM offset"
        );
        assert_eq!(
            reason("2025-08-21T12:40:59.Z"),
            "empty fraction of a second"
        );
        assert_eq!(
            reason("2025-08-21T12:40:59ZZ"),
            "unexpected text after the time"
        );
        assert_eq!(reason("２025-08-21T12:40:59Z"), "invalid date");
    }

    #[test]
    fn leap_days_are_accepted_only_in_leap_years() {
        assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
        assert!(parse_rfc3339("2000-02-29T00:00:00Z").is_ok());
        assert!(parse_rfc3339("1900-02-29T00:00:00Z").is_err());
    }

    #[test]
    fn far_dates_saturate() {
        assert_eq!(
            parse_rfc3339("9999-12-31T23:59:59Z").unwrap(),
            UnixNanos::MAX
        );
        assert_eq!(
            parse_rfc3339("0000-01-01T00:00:00Z").unwrap(),
            UnixNanos::MIN
        );
    }
}
