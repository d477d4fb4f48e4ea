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
