//! Budget periods on the UTC calendar: the hour, the day, the month.
//!
//! A ledger period is a calendar window, not a rolling one, because that is how spend is
//! reported and how providers' daily and monthly quotas reset ("midnight UTC", "the 1st").
//! Months have 28–31 days, so the month window uses the crate's integer civil-date arithmetic
//! ([`crate::time::civil`]), no calendar crate. Instants before 1970 do not occur: the
//! argument is unsigned nanoseconds since the Unix epoch.

use crate::time::civil::{civil_from_days, days_from_civil};

const NS_PER_HOUR: u64 = 3_600_000_000_000;
const NS_PER_DAY: u64 = 86_400_000_000_000;

/// A calendar period over which a cap's spend accumulates before resetting.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// Clock hours: resets at every :00 UTC.
    Hour,
    /// UTC days: resets at midnight UTC.
    Day,
    /// Calendar months: resets at 00:00 UTC on the 1st.
    Month,
}

/// One occurrence of a period: which one (ordered: later windows have larger ids) and when it
/// ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Ordinal of the window since the epoch (hours, days or months since 1970-01).
    pub id: u64,
    /// First instant of the next window, ns since the Unix epoch (saturating).
    pub end_unix_ns: u64,
}

impl Period {
    /// The window containing `unix_ns` (ns since 1970-01-01T00:00:00Z).
    pub fn window(self, unix_ns: u64) -> Window {
        match self {
            Period::Hour => fixed(unix_ns, NS_PER_HOUR),
            Period::Day => fixed(unix_ns, NS_PER_DAY),
            Period::Month => month(unix_ns),
        }
    }
    /// Lower-case name (`hour`, `day`, `month`), as in scenario files and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Month => "month",
        }
    }
}

fn fixed(unix_ns: u64, len: u64) -> Window {
    let id = unix_ns / len;
    Window {
        id,
        end_unix_ns: id.saturating_add(1).saturating_mul(len),
    }
}

fn month(unix_ns: u64) -> Window {
    // At most u64::MAX ns ≈ 213_503 days (year 2554): every value below fits an i64, and no
    // date here is before 1970, so the casts back to u64 are exact.
    let date = civil_from_days((unix_ns / NS_PER_DAY) as i64);
    let (next_year, next_month) = if date.month == 12 {
        (date.year + 1, 1)
    } else {
        (date.year, date.month + 1)
    };
    let end_days = days_from_civil(next_year, next_month, 1) as u64;
    Window {
        id: (date.year - 1970) as u64 * 12 + u64::from(date.month - 1),
        end_unix_ns: end_days.saturating_mul(NS_PER_DAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: u64 = 1_000_000_000;

    #[test]
    fn hour_and_day_windows() {
        let t = 1_755_780_059 * NS; // 2025-08-21T12:40:59Z
        let h = Period::Hour.window(t);
        assert_eq!(h.end_unix_ns, 1_755_781_200 * NS, "13:00:00Z");
        let d = Period::Day.window(t);
        assert_eq!(d.end_unix_ns, 1_755_820_800 * NS, "2025-08-22T00:00:00Z");
        assert_eq!(Period::Day.window(d.end_unix_ns).id, d.id + 1);
        assert_eq!(Period::Day.window(d.end_unix_ns - 1).id, d.id);
    }

    #[test]
    fn month_windows_follow_the_calendar() {
        // 2024-02-10 → ends 2024-03-01 (leap February).
        let feb = Period::Month.window(1_707_523_200 * NS);
        assert_eq!(feb.end_unix_ns, 1_709_251_200 * NS);
        assert_eq!(feb.id, (2024 - 1970) * 12 + 1);
        // 2025-12-31T23:59:59Z → ends 2026-01-01.
        let dec = Period::Month.window(1_767_225_599 * NS);
        assert_eq!(dec.end_unix_ns, 1_767_225_600 * NS);
        assert_eq!(Period::Month.window(dec.end_unix_ns).id, dec.id + 1);
        assert_eq!(Period::Month.window(0).id, 0);
        assert_eq!(Period::Month.window(0).end_unix_ns, 31 * NS_PER_DAY);
    }

    #[test]
    fn every_month_boundary_round_trips() {
        let mut t = 0;
        for id in 0..1200 {
            let w = Period::Month.window(t);
            assert_eq!(w.id, id);
            let len_days = (w.end_unix_ns - t) / NS_PER_DAY;
            assert!(
                (28..=31).contains(&len_days),
                "month {id} has {len_days} days"
            );
            t = w.end_unix_ns;
        }
    }

    #[test]
    fn far_future_saturates_without_panicking() {
        let w = Period::Hour.window(u64::MAX);
        assert!(w.end_unix_ns >= u64::MAX - NS_PER_HOUR);
        let _ = Period::Month.window(u64::MAX);
    }
}
