//! [`Meter`]: one provider limit (RPM, TPM, RPD …) in one of the two shapes providers use,
//! with the true remaining quota and reset the simulator scores clients against.
//!
//! - **Bucket** (OpenAI, Anthropic): continuous refill, capacity = limit, the core's exact
//!   [`Gcra`]. Reset = time until full again.
//! - **Window** (Azure, Gemini, generic): at most `limit` per fixed window whose boundaries
//!   follow the wall clock (every `period` from the Unix epoch, or Pacific midnight). Reset =
//!   time until the window ends.
//!
//! Both may go into debt (`commit` without `check`): a 429 that still counts, output tokens
//! charged at completion. Debt shows as a negative remaining.

use super::calendar::{WallClock, next_pacific_midnight};
use spillway_core::limit::{Charge, Decision, Gcra, Limiter};
use spillway_core::{Duration, Time};

/// Where fixed windows start.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cadence {
    /// Every `period` counted from the Unix epoch on the wall clock (a minute window resets at
    /// second 00).
    Every(Duration),
    /// At every midnight US Pacific time.
    PacificDay,
}

/// The answer of [`Meter::check`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Room {
    /// The cost fits now.
    Fits,
    /// The cost fits after this wait (if nothing else consumes quota meanwhile).
    After(Duration),
    /// The cost exceeds the limit itself: it can never fit.
    Never,
}

#[derive(Clone, Debug)]
enum Shape {
    Bucket(Gcra),
    Window {
        cadence: Cadence,
        clock: WallClock,
        start: Time,
        end: Time,
        used: u64,
    },
}

/// One limit with its state.
#[derive(Clone, Debug)]
pub struct Meter {
    limit: u64,
    /// The nominal period the limit is "per" (for the shared consumer's rate).
    period: Duration,
    shape: Shape,
}

impl Meter {
    /// A full continuous-refill bucket of `limit` per `period`; `None` if either is zero.
    pub fn bucket(limit: u64, period: Duration) -> Option<Meter> {
        let gcra = Gcra::new(limit, limit, period)?;
        Some(Meter {
            limit,
            period,
            shape: Shape::Bucket(gcra),
        })
    }

    /// An empty fixed window of `limit` per window; `None` if `limit` or the period is zero.
    pub fn window(limit: u64, cadence: Cadence, clock: WallClock) -> Option<Meter> {
        let period = match cadence {
            Cadence::Every(p) => p,
            Cadence::PacificDay => Duration::from_secs(86_400),
        };
        if limit == 0 || period.is_zero() {
            return None;
        }
        let (start, end) = bounds(cadence, clock, Time::ZERO);
        Some(Meter {
            limit,
            period,
            shape: Shape::Window {
                cadence,
                clock,
                start,
                end,
                used: 0,
            },
        })
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The nominal period of the limit.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Moves a window forward to the one containing `now` (buckets need nothing). Returns the
    /// start of the current window, so a caller can drop accruals from a closed one.
    pub fn roll(&mut self, now: Time) -> Time {
        match &mut self.shape {
            Shape::Bucket(_) => Time::ZERO,
            Shape::Window {
                cadence,
                clock,
                start,
                end,
                used,
            } => {
                if now >= *end {
                    (*start, *end) = bounds(*cadence, *clock, now);
                    *used = 0;
                }
                *start
            }
        }
    }

    /// Would `cost` fit at `now`? Call [`Meter::roll`] first.
    pub fn check(&self, now: Time, cost: u64) -> Room {
        match &self.shape {
            Shape::Bucket(g) => match g.check(now, cost) {
                Ok(Decision::Allowed) => Room::Fits,
                Ok(Decision::Denied { retry_at }) => Room::After(retry_at.saturating_since(now)),
                Err(_) => Room::Never,
            },
            Shape::Window { end, used, .. } => {
                if cost > self.limit {
                    Room::Never
                } else if cost == 0 || used.saturating_add(cost) <= self.limit {
                    Room::Fits
                } else {
                    Room::After(end.saturating_since(now))
                }
            }
        }
    }

    /// Consume `cost` at `now`, into debt if need be.
    pub fn commit(&mut self, now: Time, cost: u64) {
        match &mut self.shape {
            Shape::Bucket(g) => g.commit(now, cost),
            Shape::Window { used, .. } => *used = used.saturating_add(cost),
        }
    }

    /// Give back `cost` (an over-reservation settled at completion).
    pub fn refund(&mut self, now: Time, cost: u64) {
        match &mut self.shape {
            // The emulated provider's bucket gives back what it holds, untied to the charge
            // (its own behaviour, kept as it was; spillway-core's buckets refund only what of
            // the charge is unrefilled): a charge of `cost` made `now` bounds nothing more.
            Shape::Bucket(g) => g.refund(now, Charge { at: now, cost }, cost),
            Shape::Window { used, .. } => *used = used.saturating_sub(cost),
        }
    }

    /// The true remaining quota at `now`; negative in debt.
    pub fn remaining(&self, now: Time) -> i64 {
        match &self.shape {
            Shape::Bucket(g) => {
                // `available` floors at 0; debt is how far the full instant lies beyond
                // `now + period`.
                let debt_ns = g
                    .full_at()
                    .saturating_since(now)
                    .saturating_sub(self.period)
                    .as_nanos();
                if debt_ns > 0 {
                    let debt = (u128::from(debt_ns) * u128::from(self.limit))
                        .div_ceil(u128::from(self.period.as_nanos().max(1)));
                    -i64::try_from(debt).unwrap_or(i64::MAX)
                } else {
                    i64::try_from(g.available(now)).unwrap_or(i64::MAX)
                }
            }
            Shape::Window { used, .. } => {
                i64::try_from(self.limit).unwrap_or(i64::MAX)
                    - i64::try_from(*used).unwrap_or(i64::MAX)
            }
        }
    }

    /// Time from `now` until the limit is fully available again (bucket full / window over).
    pub fn reset_after(&self, now: Time) -> Duration {
        match &self.shape {
            Shape::Bucket(g) => g.full_at().saturating_since(now),
            Shape::Window { end, used, .. } if *used > 0 => end.saturating_since(now),
            Shape::Window { .. } => Duration::ZERO,
        }
    }

    /// The end of the current window (windows), or when the bucket is full (buckets).
    pub fn reset_at(&self, now: Time) -> Time {
        now.saturating_add(self.reset_after(now))
    }

    /// Take up to `amount` of what is left now (another tenant of the quota, who is refused
    /// beyond it); returns what was taken.
    pub fn take_up_to(&mut self, now: Time, amount: u64) -> u64 {
        let left = u64::try_from(self.remaining(now).max(0)).unwrap_or(0);
        let taken = amount.min(left);
        if taken > 0 {
            self.commit(now, taken);
        }
        taken
    }
}

/// The window containing `now`: `[start, end)`, never empty.
fn bounds(cadence: Cadence, clock: WallClock, now: Time) -> (Time, Time) {
    let wall = clock.at(now);
    let end_wall = match cadence {
        Cadence::Every(period) => {
            let p = i128::from(period.as_nanos().max(1));
            let w = i128::from(wall.as_nanos());
            let next = (w.div_euclid(p) + 1) * p;
            spillway_core::upstream::headers::UnixNanos::from_nanos(
                i64::try_from(next).unwrap_or(i64::MAX),
            )
        }
        Cadence::PacificDay => next_pacific_midnight(wall),
    };
    let end = clock
        .time_of(end_wall)
        .max(now.saturating_add(Duration::from_nanos(1)));
    let len = match cadence {
        Cadence::Every(p) => p,
        Cadence::PacificDay => Duration::from_secs(86_400),
    };
    (end.saturating_sub(len).min(now), end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::calendar::DEFAULT_WALL_CLOCK_START;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_bucket_reports_remaining_reset_and_debt() {
        let mut m = Meter::bucket(600, MIN).unwrap();
        let t = Time::from_secs(100);
        assert_eq!(m.remaining(t), 600);
        m.commit(t, 600);
        assert_eq!(m.remaining(t), 0);
        assert_eq!(m.reset_after(t), MIN);
        assert_eq!(m.check(t, 1), Room::After(Duration::from_millis(100)));
        m.commit(t, 6);
        assert_eq!(m.remaining(t), -6);
        assert_eq!(m.check(t, 601), Room::Never);
    }

    #[test]
    fn a_minute_window_follows_the_wall_clock_minute() {
        let clock =
            WallClock::new(DEFAULT_WALL_CLOCK_START.saturating_add(Duration::from_secs(15)));
        let mut m = Meter::window(2, Cadence::Every(MIN), clock).unwrap();
        let t = Time::from_secs(1);
        m.roll(t);
        m.commit(t, 2);
        // The wall minute ends 45 s after the start.
        assert_eq!(m.check(t, 1), Room::After(Duration::from_secs(44)));
        assert_eq!(m.remaining(t), 0);
        m.roll(Time::from_secs(45));
        assert_eq!(m.remaining(Time::from_secs(45)), 2);
        assert_eq!(m.reset_after(Time::from_secs(45)), Duration::ZERO);
    }

    #[test]
    fn take_up_to_stops_at_the_limit() {
        let mut m = Meter::bucket(10, MIN).unwrap();
        assert_eq!(m.take_up_to(Time::ZERO, 4), 4);
        assert_eq!(m.take_up_to(Time::ZERO, 40), 6);
        assert_eq!(m.take_up_to(Time::ZERO, 1), 0);
    }
}
