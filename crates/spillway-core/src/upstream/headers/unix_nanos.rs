//! Wall-clock instants as integers: [`UnixNanos`]. The calendar math behind them lives in
//! [`crate::time::civil`].
//!
//! Why a separate type from [`crate::Time`]: `Time` counts from an origin the caller picks
//! (simulation start, process start) and is what the limiters see; a header's reset is a point
//! on the provider's wall clock. Keeping them apart means the only way to get from one to the
//! other is a *difference* of two wall-clock instants (reset − `Date`), which is a [`Duration`]
//! and is immune to skew between the provider's clock and ours.

use std::fmt;

use crate::time::Duration;
use crate::time::civil::{CivilDate, civil_from_days, days_from_civil};

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
    /// The fields must already be validated (see [`days_in_month`](crate::time::civil::days_in_month)).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i64, month: u32, day: u32) -> CivilDate {
        CivilDate { year, month, day }
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
