//! [`SendLog`]: our recent sends, so a snapshot that predates some of them can be corrected.
//!
//! A response's headers describe the provider's quota when the provider computed them (at
//! admission of that request, for OpenAI-style reservation), which is *before* the sends we made
//! while that request was in flight. Adopting the snapshot's `remaining` as-is would forget
//! those sends and overestimate headroom by roughly `rate × latency` (83 requests at 500 RPM
//! and 10 s latency), exactly the burst that proactive throttling must prevent. So the model is
//! rebased on the snapshot at the instant it describes and every send after that instant is
//! replayed. The log is bounded in length and age; a snapshot older than the log's horizon
//! replays only what is left (documented as an underestimate of our own consumption).

use std::collections::VecDeque;

use super::headroom_window::SendCost;
use crate::time::{Duration, Time};

/// Most sends remembered (older ones are dropped first).
pub const MAX_LOGGED_SENDS: usize = 4096;
/// How long a send is remembered: longer than any in-flight request lives.
pub const SEND_LOG_HORIZON: Duration = Duration::from_secs(600);

/// Recent sends in the order they were made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SendLog {
    sends: VecDeque<(Time, SendCost)>,
}

impl SendLog {
    /// Remember a send at `now`, forgetting what is older than the horizon or the length cap.
    pub(crate) fn push(&mut self, now: Time, cost: SendCost) {
        let oldest = now.saturating_sub(SEND_LOG_HORIZON);
        while self.sends.front().is_some_and(|&(at, _)| at < oldest) {
            self.sends.pop_front();
        }
        if self.sends.len() == MAX_LOGGED_SENDS {
            self.sends.pop_front();
        }
        self.sends.push_back((now, cost));
    }

    /// The sends made strictly after `instant`, oldest first.
    pub(crate) fn after(&self, instant: Time) -> impl Iterator<Item = &(Time, SendCost)> {
        self.sends.iter().filter(move |(at, _)| *at > instant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_age_and_length() {
        let mut log = SendLog::default();
        let cost = SendCost::request(1, 1);
        log.push(Time::ZERO, cost);
        log.push(Time::from_secs(1), cost);
        assert_eq!(log.after(Time::ZERO).count(), 1);
        log.push(Time::from_secs(601), cost);
        assert_eq!(
            log.sends.len(),
            2,
            "the send at 0 s is older than the horizon"
        );
        for i in 0..MAX_LOGGED_SENDS as u64 {
            log.push(
                Time::from_secs(602).saturating_add(Duration::from_nanos(i)),
                cost,
            );
        }
        assert_eq!(log.sends.len(), MAX_LOGGED_SENDS);
    }
}
