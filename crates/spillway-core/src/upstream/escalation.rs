//! [`Escalation`]: consecutive 429s mean something is wrong beyond a burst.
//!
//! Seed 1: "At 3+ consecutive 429s, you might want to alert on-call or switch to a fallback
//! provider" (traffic outgrew the tier, or another service shares the key). The counter counts
//! 429s in a row; reaching the threshold emits one [`EscalationEvent::Escalated`] (an alert) and
//! asks for the fallback provider for `fallback_for`. After that the primary is tried again: a
//! further 429 re-arms the switch (without a second alert for the same streak); a success ends
//! the streak ([`EscalationEvent::Recovered`] if it had escalated).

use crate::time::{Duration, Time};

/// Something the operator should hear about.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EscalationEvent {
    /// The threshold was reached: alert, and switch to the fallback provider.
    Escalated {
        /// When.
        at: Time,
        /// 429s in a row (equal to the threshold).
        consecutive: u32,
    },
    /// A success after an escalation: the streak is over.
    Recovered {
        /// When.
        at: Time,
        /// How long the streak was.
        consecutive: u32,
    },
}

/// Consecutive-429 counter with an alert threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escalation {
    threshold: u32,
    fallback_for: Duration,
    consecutive: u32,
    fallback_until: Time,
}

impl Escalation {
    /// The seed's default threshold.
    pub const DEFAULT_THRESHOLD: u32 = 3;

    /// Escalate at `threshold` 429s in a row (0 is read as 1), preferring the fallback for
    /// `fallback_for` after each 429 at or beyond it.
    pub fn new(threshold: u32, fallback_for: Duration) -> Self {
        Escalation {
            threshold: threshold.max(1),
            fallback_for,
            consecutive: 0,
            fallback_until: Time::ZERO,
        }
    }

    /// A 429 (rate limited) at `now`. Returns the alert exactly when the streak reaches the
    /// threshold.
    pub fn on_rate_limited(&mut self, now: Time) -> Option<EscalationEvent> {
        self.consecutive = self.consecutive.saturating_add(1);
        if self.consecutive < self.threshold {
            return None;
        }
        self.fallback_until = now.saturating_add(self.fallback_for);
        (self.consecutive == self.threshold).then_some(EscalationEvent::Escalated {
            at: now,
            consecutive: self.consecutive,
        })
    }

    /// A successful response at `now`: the streak ends.
    pub fn on_success(&mut self, now: Time) -> Option<EscalationEvent> {
        let streak = std::mem::take(&mut self.consecutive);
        self.fallback_until = Time::ZERO;
        (streak >= self.threshold).then_some(EscalationEvent::Recovered {
            at: now,
            consecutive: streak,
        })
    }

    /// Whether requests should go to the fallback provider at `now`.
    pub fn wants_fallback(&self, now: Time) -> bool {
        self.consecutive >= self.threshold && now < self.fallback_until
    }

    /// 429s in a row so far.
    pub const fn consecutive(&self) -> u32 {
        self.consecutive
    }

    /// The configured threshold.
    pub const fn threshold(&self) -> u32 {
        self.threshold
    }
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation::new(Self::DEFAULT_THRESHOLD, Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates_once_at_the_threshold_and_recovers() {
        let mut e = Escalation::default();
        let t = Time::from_secs(1);
        assert_eq!(e.on_rate_limited(t), None);
        assert_eq!(e.on_rate_limited(t), None);
        assert!(!e.wants_fallback(t));
        let alert = e.on_rate_limited(t);
        assert_eq!(
            alert,
            Some(EscalationEvent::Escalated {
                at: t,
                consecutive: 3
            })
        );
        assert!(e.wants_fallback(t));
        assert!(!e.wants_fallback(Time::from_secs(61)));
        assert_eq!(e.on_rate_limited(Time::from_secs(61)), None);
        assert!(e.wants_fallback(Time::from_secs(61)));
        let back = e.on_success(Time::from_secs(70));
        assert!(matches!(
            back,
            Some(EscalationEvent::Recovered { consecutive: 4, .. })
        ));
        assert_eq!(e.consecutive(), 0);
        assert_eq!(e.on_success(Time::from_secs(71)), None);
    }
}
