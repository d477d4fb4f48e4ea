//! The proleptic Gregorian calendar as integer arithmetic on day numbers (days since
//! 1970-01-01), after Howard Hinnant's "chrono-Compatible Low-Level Date Algorithms".
//!
//! Why here, and public: header dates (RFC 3339, HTTP-date), budget periods that reset on the
//! 1st of the month, the simulator's Pacific-time day and trace timestamps all need the same
//! date math. One exact, branch-light implementation with no calendar crate and no clock keeps
//! them agreeing to the day. Every function is `const` and total over the dates it documents.

/// A calendar date (proleptic Gregorian). Ordered by year, then month, then day.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate {
    /// The year, astronomical numbering (year 0 exists, −1 is 2 BC).
    pub year: i64,
    /// The month, 1–12.
    pub month: u32,
    /// The day of the month, 1–31.
    pub day: u32,
}

/// Whether `year` is a Gregorian leap year.
pub const fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1-12) of `year`; 0 for a month out of range, so a day check fails.
pub const fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a valid date (negative before it): eras of 400 years,
/// March-based years so leap days come last. The fields must already be valid (see
/// [`days_in_month`]); an invalid date gives a meaningless number, never a panic for years
/// within ±10^15.
pub const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (inverse of [`days_from_civil`]).
pub const fn civil_from_days(days: i64) -> CivilDate {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    CivilDate { year, month, day }
}

/// Day of the week of a valid date, 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub const fn weekday(date: CivilDate) -> u32 {
    (days_from_civil(date.year, date.month, date.day) + 3).rem_euclid(7) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i64, month: u32, day: u32) -> CivilDate {
        CivilDate { year, month, day }
    }

    #[test]
    fn known_days_and_weekdays() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(weekday(date(1970, 1, 1)), 3, "Thursday");
        assert_eq!(weekday(date(2023, 9, 29)), 4, "Friday");
        assert_eq!(weekday(date(2025, 8, 21)), 3, "Thursday");
        assert_eq!(weekday(date(1994, 11, 6)), 6, "Sunday");
    }

    #[test]
    fn civil_round_trips_across_eras() {
        for days in (-800_000..800_000).step_by(997) {
            let d = civil_from_days(days);
            assert!(d.day >= 1 && d.day <= days_in_month(d.year, d.month));
            assert_eq!(days_from_civil(d.year, d.month, d.day), days);
        }
    }

    #[test]
    fn leap_years() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2023, 13), 0);
    }

    #[test]
    fn dates_order_chronologically() {
        assert!(date(2025, 12, 31) < date(2026, 1, 1));
        assert!(date(2026, 1, 31) < date(2026, 2, 1));
    }
}
