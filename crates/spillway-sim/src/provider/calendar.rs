//! The simulation's wall clock: where [`Time::ZERO`] sits in real time, the US Pacific day
//! (Gemini's RPD resets at midnight Pacific, DST included) and the HTTP-date of the `Date`
//! header.
//!
//! Why a wall clock at all: providers speak in wall-clock instants (Anthropic's RFC 3339
//! resets, epoch `X-RateLimit-Reset`, `Date`), and Gemini's daily quota rolls over at a civil
//! time. Pinning `Time::ZERO` to a fixed instant makes those headers meaningful and every run
//! byte-for-byte reproducible.

use spillway_core::time::civil::{civil_from_days, days_from_civil};
use spillway_core::upstream::headers::UnixNanos;
use spillway_core::{Duration, Time};

const NS_PER_S: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// Pacific Standard Time, UTC−8.
const PST_OFFSET_S: i64 = -8 * 3600;
/// Pacific Daylight Time, UTC−7.
const PDT_OFFSET_S: i64 = -7 * 3600;

/// The default wall-clock instant of the simulation's start: 2026-01-15T16:00:00Z (08:00
/// Pacific, a Thursday, outside DST).
pub const DEFAULT_WALL_CLOCK_START: UnixNanos = UnixNanos::from_secs(1_768_492_800);

/// Maps simulated [`Time`] to wall-clock [`UnixNanos`] and back.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WallClock {
    start: UnixNanos,
}

impl WallClock {
    /// A clock on which `Time::ZERO` is `start`.
    pub const fn new(start: UnixNanos) -> Self {
        WallClock { start }
    }

    /// The wall-clock instant of `Time::ZERO`.
    pub const fn start(self) -> UnixNanos {
        self.start
    }

    /// The wall-clock instant of `t` (saturating in 2262).
    pub fn at(self, t: Time) -> UnixNanos {
        self.start
            .saturating_add(Duration::from_nanos(t.as_nanos()))
    }

    /// The simulated instant of `wall`, clamped to `Time::ZERO` before the start.
    pub fn time_of(self, wall: UnixNanos) -> Time {
        Time::from_nanos(wall.saturating_since(self.start).as_nanos())
    }
}

/// 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday).
fn weekday(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

/// The day number of the `n`-th (1-based) Sunday of `month` in `year`.
fn nth_sunday(year: i64, month: u32, n: i64) -> i64 {
    let first = days_from_civil(year, month, 1);
    first + (7 - weekday(first)) % 7 + 7 * (n - 1)
}

/// US rules since 2007: DST from the second Sunday of March, 02:00 PST (10:00 UTC), to the
/// first Sunday of November, 02:00 PDT (09:00 UTC).
fn pacific_offset_s(unix_s: i64) -> i64 {
    let year = civil_from_days(unix_s.div_euclid(SECS_PER_DAY)).year;
    let starts = nth_sunday(year, 3, 2) * SECS_PER_DAY + 10 * 3600;
    let ends = nth_sunday(year, 11, 1) * SECS_PER_DAY + 9 * 3600;
    if (starts..ends).contains(&unix_s) {
        PDT_OFFSET_S
    } else {
        PST_OFFSET_S
    }
}

/// The first midnight in US Pacific time strictly after `wall` (saturating far in the future).
pub fn next_pacific_midnight(wall: UnixNanos) -> UnixNanos {
    let unix_s = wall.as_secs_floor();
    let local_day = (unix_s + pacific_offset_s(unix_s)).div_euclid(SECS_PER_DAY);
    let next_local = (local_day + 1).saturating_mul(SECS_PER_DAY);
    // Local midnight read as PST lies at least an hour from either switch (10:00Z in March =
    // 02:00 PST, 09:00Z in November = 01:00 PST), so the offset there is midnight's offset.
    let guess = next_local - PST_OFFSET_S;
    let offset = pacific_offset_s(guess);
    UnixNanos::from_secs(next_local - offset)
}

/// An HTTP-date (`Thu, 21 Aug 2025 12:41:00 GMT`), whole seconds rounded down.
pub fn http_date(wall: UnixNanos) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = wall.as_secs_floor();
    let days = secs.div_euclid(SECS_PER_DAY);
    let sod = secs.rem_euclid(SECS_PER_DAY);
    let date = civil_from_days(days);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[weekday(days) as usize],
        date.day,
        MONTHS[(date.month as usize).saturating_sub(1) % 12],
        date.year,
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// `wall` rounded down to a whole second.
pub(crate) fn floor_second(wall: UnixNanos) -> UnixNanos {
    UnixNanos::from_nanos(wall.as_secs_floor().saturating_mul(NS_PER_S))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::upstream::headers::{parse_http_date, parse_rfc3339};

    fn rfc(text: &str) -> UnixNanos {
        parse_rfc3339(text).expect("valid RFC 3339")
    }

    #[test]
    fn the_default_start_is_what_its_doc_says() {
        assert_eq!(DEFAULT_WALL_CLOCK_START, rfc("2026-01-15T16:00:00Z"));
    }

    #[test]
    fn pacific_midnight_follows_dst() {
        // Winter: PST, midnight is 08:00Z.
        let w = next_pacific_midnight(rfc("2026-01-15T16:00:00Z"));
        assert_eq!(w, rfc("2026-01-16T08:00:00Z"));
        // Summer: PDT, midnight is 07:00Z.
        let s = next_pacific_midnight(rfc("2025-08-21T12:40:59Z"));
        assert_eq!(s, rfc("2025-08-22T07:00:00Z"));
        // The night DST starts (Sun 8 Mar 2026): that midnight is still PST.
        assert_eq!(
            next_pacific_midnight(rfc("2026-03-08T07:59:59Z")),
            rfc("2026-03-08T08:00:00Z")
        );
        // The next one is PDT.
        assert_eq!(
            next_pacific_midnight(rfc("2026-03-08T08:00:00Z")),
            rfc("2026-03-09T07:00:00Z")
        );
        // DST ends Sun 1 Nov 2026: that midnight is PDT, the next one PST.
        assert_eq!(
            next_pacific_midnight(rfc("2026-10-31T12:00:00Z")),
            rfc("2026-11-01T07:00:00Z")
        );
        assert_eq!(
            next_pacific_midnight(rfc("2026-11-01T07:00:00Z")),
            rfc("2026-11-02T08:00:00Z")
        );
    }

    #[test]
    fn http_dates_parse_back() {
        let t = rfc("2025-08-21T12:41:00.75Z");
        let text = http_date(t);
        assert_eq!(text, "Thu, 21 Aug 2025 12:41:00 GMT");
        assert_eq!(parse_http_date(&text), Ok(floor_second(t)));
    }

    #[test]
    fn the_clock_maps_both_ways() {
        let clock = WallClock::new(DEFAULT_WALL_CLOCK_START);
        let t = Time::from_secs(90);
        assert_eq!(clock.time_of(clock.at(t)), t);
        assert_eq!(clock.time_of(UnixNanos::EPOCH), Time::ZERO);
    }
}
