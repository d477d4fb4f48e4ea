//! The emulator's one clock, and the time scale.
//!
//! Why one place: the provider model is sans-IO (`call(now, …)`), so the server must read a
//! clock somewhere; doing it here, once per call, keeps every other module a pure function of
//! the reading. [`EmuClock::now`] gives both the real elapsed time (for logs and the `Date`
//! header) and the emulated time the provider runs on (real × scale).

use spillway_core::clock::{Clock, RealClock};
use spillway_core::upstream::headers::UnixNanos;
use spillway_core::{Duration, Time};

const PPM: u128 = 1_000_000;

/// How many times faster than real time the provider runs, in parts per million
/// (1.0 = 1 000 000). Integer so that conversions are exact and checked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimeScale {
    ppm: u64,
}

impl TimeScale {
    /// Real time.
    pub const REAL: TimeScale = TimeScale { ppm: 1_000_000 };
    /// The smallest scale accepted (a thousand times slower).
    pub const MIN_PPM: u64 = 1_000;
    /// The largest scale accepted (ten thousand times faster).
    pub const MAX_PPM: u64 = 10_000_000_000;

    /// `X` as written on the command line (`10`, `2.5`, `0.5`), at most 6 decimals, within
    /// `[0.001, 10000]`.
    pub fn parse(text: &str) -> Result<TimeScale, String> {
        let bad = || {
            format!(
                "`{text}` is not a time scale: write a number from 0.001 to 10000 (e.g. 10 = ten times faster)"
            )
        };
        let (int, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
            return Err(bad());
        }
        if frac.len() > 6 {
            return Err(bad());
        }
        let int: u64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let frac_ppm: u64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
        let ppm = int
            .checked_mul(1_000_000)
            .and_then(|p| p.checked_add(frac_ppm))
            .ok_or_else(bad)?;
        if !(Self::MIN_PPM..=Self::MAX_PPM).contains(&ppm) {
            return Err(bad());
        }
        Ok(TimeScale { ppm })
    }

    /// Emulated duration of a real one (real × scale).
    pub fn to_emulated(self, real: Duration) -> Duration {
        let ns = u128::from(real.as_nanos()) * u128::from(self.ppm) / PPM;
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// Real duration of an emulated one (emulated ÷ scale, rounded up so a client that waits
    /// it is never early).
    pub fn to_real(self, emulated: Duration) -> Duration {
        let ns = (u128::from(emulated.as_nanos()) * PPM).div_ceil(u128::from(self.ppm));
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

impl std::fmt::Display for TimeScale {
    /// As written on the command line: `10`, `2.5`, `0.001`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (int, frac) = (self.ppm / 1_000_000, self.ppm % 1_000_000);
        if frac == 0 {
            write!(f, "{int}")
        } else {
            write!(f, "{int}.{}", format!("{frac:06}").trim_end_matches('0'))
        }
    }
}

/// One reading of the clock.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Real time since the server started.
    pub real: Time,
    /// The provider's time (real × scale).
    pub emulated: Time,
    /// The real wall-clock instant (for `Date`).
    pub wall: UnixNanos,
}

/// The server's clock: started once, read once per call.
#[derive(Debug, Clone, Copy)]
pub struct EmuClock {
    real: RealClock,
    wall_start: UnixNanos,
    scale: TimeScale,
}

impl EmuClock {
    /// A clock starting now, at the real Unix time.
    #[allow(clippy::disallowed_methods)] // the emulator's single wall-clock read, at start
    pub fn start(scale: TimeScale) -> EmuClock {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        EmuClock {
            real: RealClock::new(),
            wall_start: UnixNanos::from_nanos(since_epoch),
            scale,
        }
    }

    /// The real Unix instant of the start (the provider's `Time::ZERO`).
    pub fn wall_start(&self) -> UnixNanos {
        self.wall_start
    }

    /// The time scale.
    pub fn scale(&self) -> TimeScale {
        self.scale
    }

    /// Now.
    pub fn now(&self) -> Reading {
        let real = self.real.now();
        let elapsed = Duration::from_nanos(real.as_nanos());
        Reading {
            real,
            emulated: Time::from_nanos(self.scale.to_emulated(elapsed).as_nanos()),
            wall: self.wall_start.saturating_add(elapsed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_parse_and_convert_both_ways() {
        let ten = TimeScale::parse("10").expect("valid");
        assert_eq!(
            ten.to_emulated(Duration::from_secs(1)),
            Duration::from_secs(10)
        );
        assert_eq!(ten.to_real(Duration::from_secs(10)), Duration::from_secs(1));
        assert_eq!(
            ten.to_real(Duration::from_nanos(1)),
            Duration::from_nanos(1)
        );
        let half = TimeScale::parse("0.5").expect("valid");
        assert_eq!(half.to_real(Duration::from_secs(1)), Duration::from_secs(2));
        assert_eq!(TimeScale::parse("1"), Ok(TimeScale::REAL));
        assert_eq!(TimeScale::parse("2.25").map(|s| s.ppm), Ok(2_250_000));
        assert_eq!(
            TimeScale::parse("2.250").map(|s| s.to_string()),
            Ok("2.25".into())
        );
        assert_eq!(ten.to_string(), "10");
        for bad in [
            "",
            ".",
            "0",
            "-1",
            "1e3",
            "abc",
            "10001",
            "0.0001",
            "1.1234567",
            "99999999999999999999",
        ] {
            assert!(TimeScale::parse(bad).is_err(), "{bad}");
        }
    }
}
