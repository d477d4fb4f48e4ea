//! HTTP-dates (RFC 9110 §5.6.7), as sent in `Date` and `Retry-After`: the preferred
//! IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, and the two obsolete forms a recipient must
//! still accept, RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`.
//!
//! Names are matched case-insensitively (cheap leniency), but the weekday must be a real one
//! **and** match the date: a sender that gets the weekday wrong is generating garbage, and
//! garbage in a wait hint is better reported than guessed at. RFC 850's two-digit year is read
//! with a fixed pivot (00-69 → 20xx, 70-99 → 19xx) instead of RFC 9110's "50 years from now"
//! rule, because this crate reads no clock.

use super::date::{Cursor, checked_date, time_of_day};
use super::error::{ValueError, excerpt};
use super::unix_nanos::UnixNanos;
use crate::time::civil::{CivilDate, weekday};

const HTTP_DATE: &str = "an HTTP-date like Fri, 29 Sep 2023 16:26:57 GMT";
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Which layout a date uses, decided from its first word and what follows it.
#[derive(Copy, Clone)]
enum Layout {
    ImfFixdate,
    Rfc850,
    Asctime,
}

/// Parses an HTTP-date in any of the three RFC 9110 layouts; surrounding spaces and tabs are
/// ignored. The result is UTC.
pub fn parse_http_date(value: &str) -> Result<UnixNanos, ValueError> {
    let fail = |reason| ValueError::InvalidDate {
        value: excerpt(value),
        expected: HTTP_DATE,
        reason,
    };
    let mut cur = Cursor::new(value.trim_matches([' ', '\t']));
    let day_name = cur.word();
    let (layout, wday) = if day_name.len() == 3 {
        let wday = DAYS
            .iter()
            .position(|d| d.as_bytes()[..3].eq_ignore_ascii_case(day_name));
        let layout = if cur.eat(",") {
            Layout::ImfFixdate
        } else {
            Layout::Asctime
        };
        (layout, wday)
    } else {
        let wday = DAYS
            .iter()
            .position(|d| d.as_bytes().eq_ignore_ascii_case(day_name));
        if !cur.eat(",") {
            return Err(fail("expected ',' after the weekday"));
        }
        (Layout::Rfc850, wday)
    };
    let wday = wday.ok_or_else(|| fail("invalid weekday"))?;
    let (date, secs) = match layout {
        Layout::ImfFixdate => imf_fixdate(&mut cur),
        Layout::Rfc850 => rfc850(&mut cur),
        Layout::Asctime => asctime(&mut cur),
    }
    .map_err(fail)?;
    if !cur.at_end() {
        return Err(fail("unexpected text after the date"));
    }
    if weekday(date) as usize != wday {
        return Err(fail("weekday does not match the date"));
    }
    Ok(UnixNanos::from_civil(date, secs, 0))
}

/// A three-letter month name → 1-12.
fn month(cur: &mut Cursor<'_>) -> Result<u32, &'static str> {
    let name = cur.word();
    MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| i as u32 + 1)
        .ok_or("invalid month")
}

/// ` HH:MM:SS` → seconds of the day.
fn space_time(cur: &mut Cursor<'_>) -> Result<i64, &'static str> {
    if !cur.eat(" ") {
        return Err("expected a space before the time");
    }
    time_of_day(cur).ok_or("invalid time of day")
}

/// After `Sun,`: ` 06 Nov 1994 08:49:37 GMT`.
fn imf_fixdate(cur: &mut Cursor<'_>) -> Result<(CivilDate, i64), &'static str> {
    gmt_date(cur, " ", 4, |year| year)
}

/// After `Sunday,`: ` 06-Nov-94 08:49:37 GMT` (the year pivoted: see the module docs).
fn rfc850(cur: &mut Cursor<'_>) -> Result<(CivilDate, i64), &'static str> {
    gmt_date(
        cur,
        "-",
        2,
        |yy| if yy < 70 { 2000 + yy } else { 1900 + yy },
    )
}

/// The shape IMF-fixdate and RFC 850 share: ` DD<sep>Mon<sep>Y… HH:MM:SS GMT`, the year in
/// `year_digits` digits read through `full_year`.
fn gmt_date(
    cur: &mut Cursor<'_>,
    sep: &str,
    year_digits: usize,
    full_year: impl Fn(u32) -> u32,
) -> Result<(CivilDate, i64), &'static str> {
    let day = cur
        .eat(" ")
        .then(|| cur.digits(2))
        .flatten()
        .ok_or("invalid day")?;
    let month = cur.eat(sep).then(|| month(cur)).ok_or("invalid month")??;
    let year = cur
        .eat(sep)
        .then(|| cur.digits(year_digits))
        .flatten()
        .ok_or("invalid year")?;
    let secs = space_time(cur)?;
    if !cur.eat(" GMT") {
        return Err("expected GMT");
    }
    let date = checked_date(i64::from(full_year(year)), month, day).ok_or("invalid day")?;
    Ok((date, secs))
}

/// After `Sun`: ` Nov  6 08:49:37 1994` (the day is space- or zero-padded to two places).
fn asctime(cur: &mut Cursor<'_>) -> Result<(CivilDate, i64), &'static str> {
    let month = cur.eat(" ").then(|| month(cur)).ok_or("invalid month")??;
    if !cur.eat(" ") {
        return Err("invalid day");
    }
    let day = if cur.eat(" ") {
        cur.digits(1)
    } else {
        cur.digits(2)
    }
    .ok_or("invalid day")?;
    let secs = space_time(cur)?;
    let year = cur
        .eat(" ")
        .then(|| cur.digits(4))
        .flatten()
        .ok_or("invalid year")?;
    let date = checked_date(i64::from(year), month, day).ok_or("invalid day")?;
    Ok((date, secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fri, 29 Sep 2023 16:26:57 GMT.
    const RETRY_AT_S: i64 = 1_696_004_817;

    fn secs(text: &str) -> i64 {
        parse_http_date(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .as_secs_floor()
    }

    fn reason(text: &str) -> &'static str {
        match parse_http_date(text) {
            Err(ValueError::InvalidDate { reason, .. }) => reason,
            other => panic!("{text:?}: expected InvalidDate, got {other:?}"),
        }
    }

    #[test]
    fn all_three_layouts_parse() {
        assert_eq!(secs("Fri, 29 Sep 2023 16:26:57 GMT"), RETRY_AT_S);
        assert_eq!(secs("Friday, 29-Sep-23 16:26:57 GMT"), RETRY_AT_S);
        assert_eq!(secs("Fri Sep 29 16:26:57 2023"), RETRY_AT_S);
        assert_eq!(secs("Sun, 06 Nov 1994 08:49:37 GMT"), 784_111_777);
        assert_eq!(secs("Sunday, 06-Nov-94 08:49:37 GMT"), 784_111_777);
        assert_eq!(secs("Sun Nov  6 08:49:37 1994"), 784_111_777);
        assert_eq!(secs("sun, 06 nov 1994 08:49:37 gmt"), 784_111_777);
        assert_eq!(secs("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    }

    #[test]
    fn malformed_dates_say_why() {
        assert_eq!(reason("Zun, 29 Sep 2023 16:26:27 GMT"), "invalid weekday");
        assert_eq!(
            reason("Mon, 29 Sep 2023 16:26:27 GMT"),
            "weekday does not match the date"
        );
        assert_eq!(reason("Fri, 29 Sep 2023 16:26:27 UTC"), "expected GMT");
        assert_eq!(reason("Fri, 29 Sep 2023 16:26:27"), "expected GMT");
        assert_eq!(reason("Fri, 29 Spt 2023 16:26:27 GMT"), "invalid month");
        assert_eq!(reason("Fri, 31 Sep 2023 16:26:27 GMT"), "invalid day");
        assert_eq!(reason("Fri, 29 Sep 23 16:26:27 GMT"), "invalid year");
        assert_eq!(
            reason("Fri, 29 Sep 2023 25:26:27 GMT"),
            "invalid time of day"
        );
        assert_eq!(
            reason("Fri, 29 Sep 2023 16:26:27 GMT x"),
            "unexpected text after the date"
        );
        assert_eq!(
            reason("Friday 29-Sep-23 16:26:57 GMT"),
            "expected ',' after the weekday"
        );
        assert_eq!(reason(""), "expected ',' after the weekday");
        assert_eq!(reason("56"), "expected ',' after the weekday");
        assert_eq!(reason("Fri Sep 29 16:26:57"), "invalid year");
    }

    #[test]
    fn rfc850_years_pivot_at_1970() {
        assert_eq!(secs("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
        assert_eq!(
            parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT")
                .unwrap()
                .to_string(),
            "2000-01-01T00:00:00Z"
        );
    }
}
