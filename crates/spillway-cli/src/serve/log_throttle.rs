//! At most one stderr line per [`PERIOD`] for a condition that repeats with the traffic: an
//! upstream refusing the gateway's own key answers every request, and a line for each would
//! flood stderr with thousands of identical lines a second, burying everything else. The first
//! occurrence is written at once (the operator learns of it without delay); later ones within
//! the period are counted, and the next line written says how many it stands for.
//!
//! Time is a value: the caller passes its runtime clock's `now`.

use spillway_core::{Duration, Time};
use std::sync::{Mutex, PoisonError};

/// The shortest time between two lines about one condition.
pub(super) const PERIOD: Duration = Duration::from_secs(10);

/// One condition's lines (e.g. one upstream key's refusals): a few words, whatever the traffic.
#[derive(Debug, Default)]
pub(super) struct LogThrottle {
    lines: Mutex<Lines>,
}

impl LogThrottle {
    /// The condition occurred at `now`: `Some(n)` to write its line now, standing for `n` more
    /// occurrences since the last line; `None` to stay silent (it is counted).
    pub(super) fn occurred(&self, now: Time) -> Option<u64> {
        // A poisoned count is still a count: a panic elsewhere must not silence the operator.
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines.occurred(now)
    }
}

/// When the last line was written and what happened since.
#[derive(Debug, Default)]
struct Lines {
    /// The last line's time (`None`: none yet).
    last: Option<Time>,
    /// Occurrences since then that got no line.
    suppressed: u64,
}

impl Lines {
    fn occurred(&mut self, now: Time) -> Option<u64> {
        // Concurrent callers may come in a little out of order: an earlier `now` than the
        // last line's is within the period.
        let quiet = self
            .last
            .is_some_and(|last| now.saturating_since(last) < PERIOD);
        if quiet {
            self.suppressed = self.suppressed.saturating_add(1);
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn the_first_occurrence_is_written_at_once() {
        assert_eq!(LogThrottle::default().occurred(at(123_456)), Some(0));
    }

    #[test]
    fn later_ones_get_one_line_per_period_counting_the_rest() {
        let t = LogThrottle::default();
        assert_eq!(t.occurred(at(1_000)), Some(0));
        // 37 more within the period: silent.
        for i in 1..=37 {
            assert_eq!(t.occurred(at(1_000 + i * 250)), None, "{i}");
        }
        // 1 ms short of the period: still silent (the 38th).
        assert_eq!(t.occurred(at(10_999)), None);
        // The period is over: a line standing for the 38 since the last one.
        assert_eq!(t.occurred(at(11_000)), Some(38));
        // The count starts again, and so does the period.
        assert_eq!(t.occurred(at(11_001)), None);
        assert_eq!(t.occurred(at(20_999)), None);
        assert_eq!(t.occurred(at(21_000)), Some(2));
    }

    #[test]
    fn a_quiet_spell_longer_than_the_period_writes_the_next_at_once() {
        let t = LogThrottle::default();
        assert_eq!(t.occurred(at(0)), Some(0));
        assert_eq!(t.occurred(at(3_600_000)), Some(0));
    }

    #[test]
    fn an_occurrence_noted_out_of_order_is_within_the_period() {
        let t = LogThrottle::default();
        assert_eq!(t.occurred(at(50_000)), Some(0));
        assert_eq!(t.occurred(at(49_000)), None);
        assert_eq!(t.occurred(at(60_000)), Some(1));
    }

    #[test]
    fn two_conditions_are_independent() {
        let (a, b) = (LogThrottle::default(), LogThrottle::default());
        assert_eq!(a.occurred(at(0)), Some(0));
        assert_eq!(a.occurred(at(1)), None);
        // `b`'s first is written although `a` just wrote one.
        assert_eq!(b.occurred(at(2)), Some(0));
        assert_eq!(b.occurred(at(3)), None);
        assert_eq!(a.occurred(at(10_000)), Some(1));
        assert_eq!(b.occurred(at(10_001)), None);
        assert_eq!(b.occurred(at(10_002)), Some(2));
    }
}
