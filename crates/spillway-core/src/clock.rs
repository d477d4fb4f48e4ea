//! The one place that reads a real clock.
//!
//! Core types take `now: Time`; a service that runs them for real asks a [`Clock`] once per
//! request and passes the reading in. Tests and the simulator never need this module.

use crate::time::Time;

/// A source of "now".
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Time;
}

/// Monotonic wall clock: nanoseconds since the clock was created.
#[derive(Debug, Clone, Copy)]
pub struct RealClock {
    origin: std::time::Instant,
}

impl RealClock {
    /// A clock whose origin is this instant.
    #[allow(clippy::disallowed_methods)] // the single sanctioned clock read
    pub fn new() -> Self {
        RealClock {
            origin: std::time::Instant::now(),
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RealClock {
    #[allow(clippy::disallowed_methods)] // the single sanctioned clock read
    fn now(&self) -> Time {
        let elapsed = self.origin.elapsed();
        Time::from_nanos(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told to: for tests of code written against [`Clock`].
#[derive(Debug, Default)]
pub struct ManualClock {
    now: std::cell::Cell<Time>,
}

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: Time) -> Self {
        ManualClock {
            now: std::cell::Cell::new(now),
        }
    }
    /// Move the clock to `now` (it may not go back: earlier values are ignored).
    pub fn set(&self, now: Time) {
        if now > self.now.get() {
            self.now.set(now);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Time {
        self.now.get()
    }
}

/// Wall clock: nanoseconds since the Unix epoch.
///
/// A server that shares state with other replicas (budget periods, key expiry, Redis time)
/// needs instants they agree on, which a per-process monotonic origin cannot give. A wall
/// clock may step backwards (NTP); readings are therefore kept monotonic per clock: a reading
/// earlier than the last one returns the last one (core types tolerate equal instants).
#[derive(Debug, Default)]
pub struct WallClock {
    last: std::sync::atomic::AtomicU64,
}

impl WallClock {
    /// A clock reading the system time.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Clock for WallClock {
    #[allow(clippy::disallowed_methods)] // the single sanctioned wall-clock read
    fn now(&self) -> Time {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let last = self
            .last
            .fetch_max(since_epoch, std::sync::atomic::Ordering::Relaxed);
        Time::from_nanos(since_epoch.max(last))
    }
}

#[cfg(test)]
mod wall_clock_tests {
    use super::*;

    #[test]
    fn wall_clock_reads_since_the_epoch_and_never_goes_back() {
        let clock = WallClock::new();
        let first = clock.now();
        // 2020-01-01 in ns: any machine running this is later.
        assert!(first.as_nanos() > 1_577_836_800_000_000_000);
        assert!(clock.now() >= first);
    }
}
