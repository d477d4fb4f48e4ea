//! One limiter as the script sees it: its validated parameters, the arguments of a call, and the
//! exact `retry_at` recomputed from the state snapshot a denial returns.
//!
//! The script decides with additions and comparisons only (exact on doubles below 2^53); the
//! divisions a `retry_at` needs are done here on `u128`, with the formulas of spillway-core, so
//! the answers are the core's to the nanosecond.

use crate::error::RedisLimitError;
use crate::key::StateKeys;
use crate::wire::{Call, split_ns, time_from_pair};
use spillway_core::Time;
use spillway_core::limit::{Algorithm, Charge, LimitSpec, SettleStep};

/// Counts (limits, costs, totals) above this are not exact in Lua; counts saturate here.
pub const MAX_COUNT: u64 = (1 << 53) - 1;
/// Longest sliding window, in ns (about 26 days): elapsed times stay far below 2^53.
pub const MAX_WINDOW_NS: u64 = 1 << 51;
/// Largest token-bucket rate (tokens per period): the fraction `frac < rate` plus a carry stays
/// below 2^53.
pub const MAX_RATE: u64 = 1 << 52;
/// Largest whole-seconds part of a GCRA time (about 142 million years).
const MAX_SECONDS: u64 = 1 << 52;

/// What a call does to a layer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Check (and, for op `acquire`, commit if every layer admits).
    Check,
    /// Consume without asking.
    Commit,
    /// Give back, out of `charge` (a window refunds only what is still live of that charge, in
    /// its own window; a token bucket only what of it has not refilled: spillway-core's
    /// `Limiter::refund`).
    Refund { charge: Charge },
}

impl Action {
    /// spillway-core's settle step as the script's action and cost (the same step its
    /// `Layered::settle` applies to local buckets).
    pub(crate) fn settling(step: SettleStep) -> (Action, u64) {
        match step {
            SettleStep::Refund { charge, cost } => (Action::Refund { charge }, cost),
            SettleStep::Commit { cost } => (Action::Commit, cost),
        }
    }
}

/// A validated limiter.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Token bucket (GCRA): `rate` tokens per `period` ns, bucket of `capacity`.
    Gcra {
        capacity: u64,
        rate: u64,
        period: u64,
    },
    /// Sliding window log.
    Log { limit: u64, window: u64 },
    /// Sliding window counter.
    Counter { limit: u64, window: u64 },
}

fn out_of_range(what: &'static str, value: u128, max: u128) -> RedisLimitError {
    RedisLimitError::OutOfRange { what, value, max }
}

impl Shape {
    /// Validate `spec` (core checks, then the ranges the script keeps exact).
    pub(crate) fn new(spec: &LimitSpec) -> Result<Self, RedisLimitError> {
        spec.build()?;
        let window = spec.window.as_nanos();
        let windowed = |limit: u64| {
            if limit > MAX_COUNT {
                return Err(out_of_range("limit", limit.into(), MAX_COUNT.into()));
            }
            if window > MAX_WINDOW_NS {
                return Err(out_of_range(
                    "window (ns)",
                    window.into(),
                    MAX_WINDOW_NS.into(),
                ));
            }
            Ok(())
        };
        match spec.algorithm {
            Algorithm::TokenBucket => {
                let shape = Shape::Gcra {
                    capacity: spec.capacity(),
                    rate: spec.limit,
                    period: window,
                };
                if spec.limit > MAX_RATE {
                    return Err(out_of_range("rate", spec.limit.into(), MAX_RATE.into()));
                }
                let burst_ns = shape.scaled(spec.capacity()) / u128::from(spec.limit);
                let max_ns = u128::from(MAX_SECONDS) * 1_000_000_000;
                if burst_ns >= max_ns {
                    return Err(out_of_range("burst duration (ns)", burst_ns, max_ns));
                }
                Ok(shape)
            }
            Algorithm::SlidingLog => windowed(spec.limit).map(|()| Shape::Log {
                limit: spec.limit,
                window,
            }),
            Algorithm::SlidingCounter => windowed(spec.limit).map(|()| Shape::Counter {
                limit: spec.limit,
                window,
            }),
            other => Err(RedisLimitError::Unsupported { algorithm: other }),
        }
    }

    /// The largest cost ever admitted at once.
    pub(crate) fn capacity(&self) -> u64 {
        match *self {
            Shape::Gcra { capacity, .. } => capacity,
            Shape::Log { limit, .. } | Shape::Counter { limit, .. } => limit,
        }
    }

    /// `tokens` in GCRA scaled units (ns × rate): `tokens · period`.
    fn scaled(&self, tokens: u64) -> u128 {
        match *self {
            Shape::Gcra { period, .. } => u128::from(tokens) * u128::from(period),
            _ => 0,
        }
    }

    /// Append this layer's keys and arguments to `call`.
    pub(crate) fn push(&self, call: &mut Call, keys: &StateKeys, action: Action, cost: u64) {
        let act = match action {
            Action::Check => '?',
            Action::Commit => '+',
            Action::Refund { .. } => '-',
        };
        match *self {
            Shape::Gcra { capacity, rate, .. } => {
                call.key(keys.main());
                call.layer('g', act).num(rate);
                self.push_scaled(call, self.scaled(cost), rate);
                let slack = match action {
                    Action::Check => self.scaled(capacity.saturating_sub(cost)),
                    _ => 0,
                };
                self.push_scaled(call, slack, rate);
                if let Action::Refund { charge } = action {
                    // The charge's instant and its cost·T: the script's charge end (G.refund).
                    push_instant(call, charge.at);
                    self.push_scaled(call, self.scaled(charge.cost), rate);
                }
            }
            Shape::Log { limit, window } | Shape::Counter { limit, window } => {
                let log = matches!(self, Shape::Log { .. });
                call.key(keys.main());
                call.layer(if log { 'l' } else { 'c' }, act);
                call.num(limit).num(window).num(cost.min(MAX_COUNT));
                if let Action::Refund { charge } = action {
                    push_instant(call, charge.at);
                }
            }
        }
    }

    /// A scaled GCRA duration as (seconds, ns, fraction of a ns in 1/rate), seconds capped.
    fn push_scaled(&self, call: &mut Call, scaled: u128, rate: u64) {
        let rate = u128::from(rate);
        let whole = scaled / rate;
        let (s, ns) = split_ns(whole, MAX_SECONDS);
        // The remainder is below `rate` ≤ 2^52, so it fits a u64.
        let frac = u64::try_from(scaled % rate).unwrap_or(u64::MAX);
        call.num(s).num(ns).num(frac);
    }

    /// How many integers a denial's snapshot holds for this layer.
    pub(crate) fn snapshot_len(&self) -> usize {
        match self {
            Shape::Gcra { .. } => 3,
            Shape::Log { .. } => 2,
            Shape::Counter { .. } => 5,
        }
    }

    /// The exact `retry_at` for `cost` from a denial's snapshot (spillway-core's formulas).
    pub(crate) fn retry_at(&self, cost: u64, snap: &[u64]) -> Time {
        match (*self, snap) {
            (Shape::Gcra { capacity, rate, .. }, &[s, ns, frac]) => {
                let rate128 = u128::from(rate);
                let tat = gcra_scaled(s, ns, frac, rate);
                // Denied means the TAT is ahead of now, so the earliest admitting instant is
                // TAT − (capacity − cost)·T, rounded up to a whole ns.
                let earliest = tat.saturating_sub(self.scaled(capacity.saturating_sub(cost)));
                Time::from_nanos(u64::try_from(earliest.div_ceil(rate128)).unwrap_or(u64::MAX))
            }
            (Shape::Log { .. }, &[s, ns]) => time_from_pair(s, ns),
            (Shape::Counter { limit, window }, &[s, ns, _elapsed, prev, cur]) => {
                let start = time_from_pair(s, ns).as_nanos();
                let at = match limit.checked_sub(cur).and_then(|r| r.checked_sub(cost)) {
                    Some(room) => start.saturating_add(earliest_elapsed(window, prev, room)),
                    None => start
                        .saturating_add(window)
                        .saturating_add(earliest_elapsed(window, cur, limit - cost)),
                };
                Time::from_nanos(at)
            }
            _ => Time::MAX,
        }
    }
}

/// An instant as the script's (seconds, ns) pair.
fn push_instant(call: &mut Call, at: Time) {
    let (s, ns) = split_ns(u128::from(at.as_nanos()), u64::MAX);
    call.num(s).num(ns);
}

/// A layer's room read back from the script: its limit, the largest cost it admits now, and
/// when it holds its whole capacity again (spillway-core's `LayerRoom` without index and unit).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Room {
    pub(crate) limit: u64,
    pub(crate) remaining: u64,
    pub(crate) full_at: Time,
}

impl Shape {
    /// How many integers the room of this layer takes in a reply (see the script's header).
    pub(crate) fn room_len(&self) -> usize {
        match self {
            Shape::Gcra { .. } | Shape::Log { .. } => 3,
            Shape::Counter { .. } => 5,
        }
    }

    /// Whether `cost` would be admitted at `now` by the state `snap` (the room's layout), by the
    /// comparisons the script makes (and spillway-core's check).
    fn admits(&self, now: Time, cost: u64, snap: &[u64]) -> bool {
        match (*self, snap) {
            (Shape::Gcra { capacity, rate, .. }, &[s, ns, frac]) => {
                let Some(slack) = capacity.checked_sub(cost) else {
                    return false;
                };
                let now_scaled = u128::from(now.as_nanos()) * u128::from(rate);
                gcra_scaled(s, ns, frac, rate) <= now_scaled + self.scaled(slack)
            }
            (Shape::Log { limit, .. }, &[total, _, _]) => {
                total.checked_add(cost).is_some_and(|t| t <= limit)
            }
            (Shape::Counter { limit, window }, &[_, _, elapsed, prev, cur]) => {
                let Some(room) = limit.checked_sub(cur).and_then(|r| r.checked_sub(cost)) else {
                    return false;
                };
                let left = u128::from(window.saturating_sub(elapsed));
                u128::from(prev) * left <= u128::from(room) * u128::from(window)
            }
            _ => false,
        }
    }

    /// The room at `now` from the state the script returned (spillway-core's `Layered::room`:
    /// the largest admitted cost, and the `retry_at` of a check for the whole capacity).
    pub(crate) fn room(&self, now: Time, snap: &[u64]) -> Room {
        let limit = self.capacity();
        let admits = |cost| self.admits(now, cost, snap);
        // Admitted costs form a prefix of 0..=limit: binary search for its end.
        let (mut lo, mut hi) = (0u64, limit);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if admits(mid) { lo = mid } else { hi = mid - 1 }
        }
        let full_at = match (*self, snap) {
            _ if admits(limit) => now,
            (Shape::Log { window, .. }, &[_, s, ns]) => {
                time_from_pair(s, ns).saturating_add(spillway_core::Duration::from_nanos(window))
            }
            (Shape::Log { .. }, _) => Time::MAX,
            _ => self.retry_at(limit, snap),
        };
        Room {
            limit,
            remaining: lo,
            full_at,
        }
    }
}

/// A GCRA TAT `(s, ns, frac)` in scaled units (ns × rate + frac), saturating.
fn gcra_scaled(s: u64, ns: u64, frac: u64, rate: u64) -> u128 {
    u128::from(s)
        .saturating_mul(1_000_000_000)
        .saturating_add(u128::from(ns))
        .saturating_mul(u128::from(rate))
        .saturating_add(u128::from(frac))
}

/// The earliest elapsed time into a window at which `prev·(W−e) ≤ room·W` (spillway-core's
/// `SlidingWindowCounter::earliest_elapsed`).
fn earliest_elapsed(window: u64, prev: u64, room: u64) -> u64 {
    if prev == 0 {
        return 0;
    }
    let w = u128::from(window);
    let slack = (u128::from(room) * w / u128::from(prev)).min(w);
    u64::try_from(w - slack).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::Duration;

    #[test]
    fn a_settle_step_is_sent_as_the_script_arguments_it_was_before() {
        let charge = Charge {
            at: Time::from_secs(3),
            cost: 10,
        };
        // Before: `(Refund { charge }, estimate - actual)` below the estimate, else
        // `(Commit, actual - estimate)`, a zero commit included.
        for (actual, expected) in [
            (4, (Action::Refund { charge }, 6)),
            (10, (Action::Commit, 0)),
            (15, (Action::Commit, 5)),
        ] {
            assert_eq!(Action::settling(SettleStep::new(charge, actual)), expected);
        }
    }

    fn spec(algorithm: Algorithm, limit: u64, window: Duration) -> LimitSpec {
        LimitSpec {
            algorithm,
            limit,
            window,
            burst: None,
        }
    }

    #[test]
    fn values_lua_cannot_keep_exact_are_refused() {
        let big = spec(Algorithm::SlidingLog, 1 << 53, Duration::from_secs(1));
        assert!(matches!(
            Shape::new(&big),
            Err(RedisLimitError::OutOfRange { what: "limit", .. })
        ));
        let long = spec(
            Algorithm::SlidingCounter,
            10,
            Duration::from_secs(40 * 86_400),
        );
        assert!(matches!(
            Shape::new(&long),
            Err(RedisLimitError::OutOfRange { .. })
        ));
        let fixed = spec(Algorithm::FixedWindow, 10, Duration::from_secs(1));
        assert_eq!(
            Shape::new(&fixed),
            Err(RedisLimitError::Unsupported {
                algorithm: Algorithm::FixedWindow
            })
        );
        let zero = spec(Algorithm::TokenBucket, 0, Duration::from_secs(1));
        assert!(matches!(Shape::new(&zero), Err(RedisLimitError::Spec(_))));
    }

    #[test]
    fn gcra_retry_matches_the_core_for_a_rate_that_does_not_divide_a_second() {
        let s = Shape::new(&spec(Algorithm::TokenBucket, 3, Duration::from_secs(1))).unwrap();
        // Bucket of 3 emptied at t = 1 s: TAT = 2 s exactly; one token fits at 1.333333334 s.
        assert_eq!(s.retry_at(1, &[2, 0, 0]), Time::from_nanos(1_333_333_334));
    }
}
