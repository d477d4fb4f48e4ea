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
//!
//! Sends are told apart by a sequence number, not by their instant: a drain sends many calls at
//! the same `now`, and the answer to the first of them must replay the others (they are still on
//! the wire) but not itself (the provider's snapshot already counts it).

use std::collections::VecDeque;

use super::headroom_window::SendCost;
use crate::time::{Duration, Time};

/// Most sends remembered (older ones are dropped first).
pub const MAX_LOGGED_SENDS: usize = 4096;
/// How long a send is remembered: longer than any in-flight request lives.
pub const SEND_LOG_HORIZON: Duration = Duration::from_secs(600);

/// One send in the model's log: when it went and its place in the order of sends. The answer
/// to that send describes the provider as of it ([`Headroom::observe_quota_since`]).
///
/// [`Headroom::observe_quota_since`]: super::Headroom::observe_quota_since
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendMark {
    pub(crate) at: Time,
    /// 1 for the first send; 0 marks "before every send".
    seq: u64,
}

/// One logged send.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Logged {
    mark: SendMark,
    cost: SendCost,
}

/// Recent sends in the order they were made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SendLog {
    sends: VecDeque<Logged>,
    last_seq: u64,
}

impl SendLog {
    /// Remember a send at `now`, forgetting what is older than the horizon or the length cap.
    pub(crate) fn push(&mut self, now: Time, cost: SendCost) -> SendMark {
        let oldest = now.saturating_sub(SEND_LOG_HORIZON);
        while self.sends.front().is_some_and(|s| s.mark.at < oldest) {
            self.sends.pop_front();
        }
        if self.sends.len() == MAX_LOGGED_SENDS {
            self.sends.pop_front();
        }
        self.last_seq += 1;
        let mark = SendMark {
            at: now,
            seq: self.last_seq,
        };
        self.sends.push_back(Logged { mark, cost });
        mark
    }

    /// A mark at `instant` that every send made strictly after it follows (sends are logged in
    /// time order, so it is the last one made at or before `instant`).
    pub(crate) fn mark_at(&self, instant: Time) -> SendMark {
        let seq = self
            .sends
            .iter()
            .rev()
            .find(|s| s.mark.at <= instant)
            .map_or(0, |s| s.mark.seq);
        SendMark { at: instant, seq }
    }

    /// The sends made after `mark`'s, oldest first, with when they went.
    pub(crate) fn after(&self, mark: SendMark) -> impl Iterator<Item = (Time, &SendCost)> {
        self.sends
            .iter()
            .filter(move |s| s.mark.seq > mark.seq)
            .map(|s| (s.mark.at, &s.cost))
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
        assert_eq!(log.after(log.mark_at(Time::ZERO)).count(), 1);
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

    #[test]
    fn sends_at_one_instant_follow_each_other() {
        let mut log = SendLog::default();
        let cost = SendCost::request(1, 1);
        let at = Time::from_secs(1);
        let first = log.push(at, cost);
        log.push(at, cost);
        log.push(at, cost);
        assert_eq!(log.after(first).count(), 2, "the two sent after it");
        assert_eq!(log.after(log.mark_at(at)).count(), 0);
        assert_eq!(log.after(log.mark_at(Time::ZERO)).count(), 3);
    }
}
