//! [`RetryGate`]: no send to a provider before the instant its last `Retry-After` named.
//!
//! Anthropic: "Earlier retries will fail"; OpenAI: the "minimum number of seconds". So a hint
//! is a hard floor for *every* request to that provider (not only the one that got the 429):
//! the gate keeps the latest such instant and only ever moves it later, so a short hint that
//! arrives after a long one cannot shorten the wait.

use crate::time::{Duration, Time};

/// The earliest instant the provider accepts sends again.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryGate {
    not_before: Time,
}

impl RetryGate {
    /// An open gate.
    pub const fn new() -> Self {
        RetryGate {
            not_before: Time::ZERO,
        }
    }

    /// A response received at `now` said "retry after `wait`". Returns the (possibly later)
    /// instant the gate now opens.
    pub fn on_retry_after(&mut self, now: Time, wait: Duration) -> Time {
        self.not_before = self.not_before.max(now.saturating_add(wait));
        self.not_before
    }

    /// Whether a send at `now` is allowed.
    pub fn permits(&self, now: Time) -> bool {
        now >= self.not_before
    }

    /// The earliest instant at or after `now` a send is allowed.
    pub fn earliest(&self, now: Time) -> Time {
        now.max(self.not_before)
    }

    /// The instant the gate opens (`Time::ZERO` if it never closed).
    pub const fn not_before(&self) -> Time {
        self.not_before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_only_moves_later() {
        let mut g = RetryGate::new();
        assert!(g.permits(Time::ZERO));
        let at = g.on_retry_after(Time::from_secs(10), Duration::from_secs(30));
        assert_eq!(at, Time::from_secs(40));
        assert_eq!(
            g.on_retry_after(Time::from_secs(11), Duration::from_secs(1)),
            at
        );
        assert!(!g.permits(Time::from_nanos(40_000_000_000 - 1)));
        assert!(g.permits(at));
        assert_eq!(g.earliest(Time::from_secs(12)), at);
        assert_eq!(g.earliest(Time::from_secs(50)), Time::from_secs(50));
    }
}
