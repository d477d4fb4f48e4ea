//! At most one stderr line per [`PERIOD`] for a condition that repeats with the traffic: an
//! upstream refusing the gateway's own key answers every request, and a line for each would
//! flood stderr with thousands of identical lines a second, burying everything else. The first
//! occurrence is written at once (the operator learns of it without delay); later ones within
//! the period are counted, and the next line written says how many it stands for.
//!
//! Occurrences counted and then followed by no other would be lost with that next line, so
//! they get a line of their own: when the period lapses (the caller who [`arm`](LogThrottle::arm)s
//! waits for it and asks [`lapsed`](LogThrottle::lapsed)), or at shutdown
//! ([`rest`](LogThrottle::rest)).
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
        self.lock().occurred(now)
    }

    /// After an occurrence got no line: `Some(when)` the first time since the last line, to
    /// ask [`lapsed`](Self::lapsed) then (whoever gets it owns that wait); `None` if someone
    /// already waits, or nothing is counted.
    pub(super) fn arm(&self) -> Option<Time> {
        let mut lines = self.lock();
        let due = lines.due().filter(|_| !lines.armed)?;
        lines.armed = true;
        Some(due)
    }

    /// The armed wait is over at `now`: a line for the occurrences counted since the last
    /// line if the period has lapsed, else when to ask again (a line was written meanwhile,
    /// and more were counted since).
    pub(super) fn lapsed(&self, now: Time) -> Lapse {
        let mut lines = self.lock();
        match lines.due() {
            None => {
                lines.armed = false;
                Lapse::Done
            }
            Some(due) if now < due => Lapse::Wait(due),
            Some(_) => {
                lines.armed = false;
                lines.last = Some(now);
                Lapse::Line(std::mem::take(&mut lines.suppressed))
            }
        }
    }

    /// At shutdown: the occurrences counted since the last line, if any, for a last line.
    pub(super) fn rest(&self) -> Option<u64> {
        let mut lines = self.lock();
        Some(std::mem::take(&mut lines.suppressed)).filter(|&n| n > 0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lines> {
        // A poisoned count is still a count: a panic elsewhere must not silence the operator.
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What an armed wait finds ([`LogThrottle::lapsed`]).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Lapse {
    /// Write a line standing for this many occurrences.
    Line(u64),
    /// Not yet: ask again at this time.
    Wait(Time),
    /// Nothing left to tell (a line, or the shutdown's, told it).
    Done,
}

/// When the last line was written and what happened since.
#[derive(Debug, Default)]
struct Lines {
    /// The last line's time (`None`: none yet).
    last: Option<Time>,
    /// Occurrences since then that got no line.
    suppressed: u64,
    /// Someone waits to write their line when the period lapses ([`LogThrottle::arm`]).
    armed: bool,
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

    /// When the occurrences counted since the last line may have a line of their own.
    fn due(&self) -> Option<Time> {
        let last = self.last.filter(|_| self.suppressed > 0)?;
        Some(last.saturating_add(PERIOD))
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
    fn counted_occurrences_get_their_line_when_the_period_lapses() {
        let t = LogThrottle::default();
        assert_eq!(t.arm(), None, "nothing counted");
        assert_eq!(t.occurred(at(1_000)), Some(0));
        assert_eq!(t.arm(), None, "nothing counted");
        assert_eq!(t.occurred(at(2_000)), None);
        // The first counted since the line: its line is due when the period lapses, once.
        assert_eq!(t.arm(), Some(at(11_000)));
        assert_eq!(t.occurred(at(3_000)), None);
        assert_eq!(t.arm(), None, "already armed");
        assert_eq!(t.lapsed(at(10_999)), Lapse::Wait(at(11_000)));
        assert_eq!(t.lapsed(at(11_000)), Lapse::Line(2));
        // That was a line: the next occurrence is counted, and can be armed again.
        assert_eq!(t.lapsed(at(11_001)), Lapse::Done);
        assert_eq!(t.occurred(at(11_001)), None);
        assert_eq!(t.arm(), Some(at(21_000)));
    }

    #[test]
    fn a_line_written_meanwhile_moves_the_armed_wait() {
        let t = LogThrottle::default();
        assert_eq!(t.occurred(at(0)), Some(0));
        assert_eq!(t.occurred(at(1)), None);
        assert_eq!(t.arm(), Some(at(10_000)));
        // An occurrence at the lapse writes the line itself, standing for the first; one
        // counted after it is left to the wait already armed.
        assert_eq!(t.occurred(at(10_000)), Some(1));
        assert_eq!(t.occurred(at(10_002)), None);
        assert_eq!(t.arm(), None, "still armed");
        // The wait wakes, and waits on for that one's period.
        assert_eq!(t.lapsed(at(10_003)), Lapse::Wait(at(20_000)));
        assert_eq!(t.lapsed(at(20_000)), Lapse::Line(1));
        assert_eq!(t.arm(), None, "nothing counted");
    }

    #[test]
    fn a_wait_that_finds_nothing_disarms() {
        let t = LogThrottle::default();
        assert_eq!(t.occurred(at(0)), Some(0));
        assert_eq!(t.occurred(at(1)), None);
        assert_eq!(t.arm(), Some(at(10_000)));
        assert_eq!(t.occurred(at(10_000)), Some(1));
        assert_eq!(t.lapsed(at(10_001)), Lapse::Done);
        assert_eq!(t.occurred(at(10_002)), None);
        assert_eq!(t.arm(), Some(at(20_000)));
    }

    #[test]
    fn the_rest_is_told_at_shutdown_once() {
        let t = LogThrottle::default();
        assert_eq!(t.rest(), None);
        assert_eq!(t.occurred(at(0)), Some(0));
        assert_eq!(t.rest(), None, "the only one had its line");
        for i in 1..=5 {
            assert_eq!(t.occurred(at(i)), None);
        }
        assert_eq!(t.arm(), Some(at(10_000)));
        assert_eq!(t.rest(), Some(5));
        assert_eq!(t.rest(), None);
        // The armed wait finds them told.
        assert_eq!(t.lapsed(at(10_000)), Lapse::Done);
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
