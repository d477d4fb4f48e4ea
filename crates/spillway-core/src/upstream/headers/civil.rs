//! Wall-clock instants as integers: [`UnixNanos`], and the proleptic Gregorian calendar math
//! (Howard Hinnant's `days_from_civil`) the date parsers need.
//!
//! Why a separate type from [`crate::Time`]: `Time` counts from an origin the caller picks
//! (simulation start, process start) and is what the limiters see; a header's reset is a point
//! on the provider's wall clock. Keeping them apart means the only way to get from one to the
//! other is a *difference* of two wall-clock instants (reset − `Date`), which is a [`Duration`]
//! and is immune to skew between the provider's clock and ours.

use std::fmt;

use crate::time::Duration;

const NS_PER_S: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Nanoseconds since 1970-01-01T00:00:00Z, ignoring leap seconds (like Unix time).
///
/// `i64` covers 1677-09-21 to 2262-04-11; conversions from dates outside that range saturate
/// at [`UnixNanos::MIN`] / [`UnixNanos::MAX`], consistent with the crate's "huge values
/// saturate" rule.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixNanos(i64);

impl UnixNanos {
    /// The Unix epoch.
    pub const EPOCH: UnixNanos = UnixNanos(0);
    /// The earliest representable instant (1677).
    pub const MIN: UnixNanos = UnixNanos(i64::MIN);
    /// The latest representable instant (2262).
    pub const MAX: UnixNanos = UnixNanos(i64::MAX);

    /// The instant `nanos` after the epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        UnixNanos(nanos)
    }
    /// The instant `secs` after the epoch (saturating).
    pub const fn from_secs(secs: i64) -> Self {
        UnixNanos(secs.saturating_mul(NS_PER_S))
    }
    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    /// Whole seconds since the epoch, rounded down (so `-0.5 s` is `-1`).
    pub const fn as_secs_floor(self) -> i64 {
        self.0.div_euclid(NS_PER_S)
    }
    /// `self + d`, saturating at [`UnixNanos::MAX`].
    pub fn saturating_add(self, d: Duration) -> Self {
        let d = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        UnixNanos(self.0.saturating_add(d))
    }
    /// The span from `earlier` to `self`; zero if `earlier` is later. This clamp is what turns
    /// "reset 12:40:59, Date 12:41:00" (whole-second resets, clock skew) into "no wait".
    pub fn saturating_since(self, earlier: UnixNanos) -> Duration {
        let diff = i128::from(self.0) - i128::from(earlier.0);
        Duration::from_nanos(u64::try_from(diff.max(0)).unwrap_or(u64::MAX))
    }
    /// The instant of a calendar date and time in UTC, saturating outside the `i64` range.
    /// The fields must already be validated (see [`days_in_month`]).
    pub(crate) fn from_civil(date: CivilDate, secs_of_day: i64, nanos: u32) -> Self {
        let days = days_from_civil(date.year, date.month, date.day);
        let secs = i128::from(days) * i128::from(SECS_PER_DAY) + i128::from(secs_of_day);
        let nanos = secs * i128::from(NS_PER_S) + i128::from(nanos);
        UnixNanos(i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX }))
    }
}

impl fmt::Display for UnixNanos {
    /// RFC 3339 in UTC, with only as many fraction digits as needed: `2025-08-21T12:40:59Z`,
    /// `2025-08-21T12:40:59.5Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.as_secs_floor();
        let nanos = self.0.rem_euclid(NS_PER_S);
        let date = civil_from_days(secs.div_euclid(SECS_PER_DAY));
        let sod = secs.rem_euclid(SECS_PER_DAY);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date.year,
            date.month,
            date.day,
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )?;
        if nanos != 0 {
            let digits = format!("{nanos:09}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        write!(f, "Z")
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct CivilDate {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
}

/// Whether `year` is a Gregorian leap year.
pub(crate) const fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1-12) of `year`; 0 for a month out of range, so a day check fails.
pub(crate) const fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a valid date (Hinnant, "chrono-Compatible Low-Level Date
/// Algorithms"): eras of 400 years, March-based years so leap days come last.
pub(crate) const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (inverse of [`days_from_civil`]).
pub(crate) const fn civil_from_days(days: i64) -> CivilDate {
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
pub(crate) const fn weekday(date: CivilDate) -> u32 {
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
    fn instants_format_as_rfc3339() {
        let t = UnixNanos::from_civil(date(2025, 8, 21), 12 * 3600 + 40 * 60 + 59, 0);
        assert_eq!(t.as_nanos(), 1_755_780_059 * NS_PER_S);
        assert_eq!(t.to_string(), "2025-08-21T12:40:59Z");
        assert_eq!(
            UnixNanos::from_nanos(-500_000_000).to_string(),
            "1969-12-31T23:59:59.5Z"
        );
        assert_eq!(UnixNanos::MAX.to_string(), "2262-04-11T23:47:16.854775807Z");
        assert_eq!(UnixNanos::MIN.to_string(), "1677-09-21T00:12:43.145224192Z");
    }

    #[test]
    fn arithmetic_saturates_and_clamps() {
        let t = UnixNanos::from_secs(100);
        assert_eq!(
            t.saturating_since(UnixNanos::from_secs(101)),
            Duration::ZERO
        );
        assert_eq!(
            t.saturating_since(UnixNanos::from_secs(40)),
            Duration::from_secs(60)
        );
        assert_eq!(
            UnixNanos::MAX.saturating_since(UnixNanos::MIN),
            Duration::MAX
        );
        assert_eq!(UnixNanos::MAX.saturating_add(Duration::MAX), UnixNanos::MAX);
        assert_eq!(UnixNanos::from_secs(i64::MIN), UnixNanos::MIN);
        let far = UnixNanos::from_civil(date(9999, 12, 31), 0, 0);
        assert_eq!(far, UnixNanos::MAX);
    }
}
