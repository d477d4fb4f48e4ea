//! One quota window of the [`super::Headroom`] model: a linear-refill bucket.
//!
//! Why a linear-refill bucket: it is what OpenAI's headers describe exactly (reset =
//! (limit − remaining)/limit × window, checked on six captures) and what Anthropic documents
//! ("continuously replenished"). Fixed-window providers (Azure's 1/10 s sub-windows, Gemini's
//! minute at second 00) are approximated, and each header snapshot corrects the drift.
//!
//! Exactness: the level is kept in *scaled units* (tokens × window ns), in which the bucket
//! refills exactly `limit` units per nanosecond, so no rate is ever rounded. `i128` holds a
//! `u64` level times a `u64` window; debt (negative remaining, as Azure reports) is allowed.

use super::headers::{Dimension, DimensionState, Provider};
use super::headroom_length::{Exchange, LengthLearner, ResetReport, counts_to_boundary};
use crate::time::{Duration, Time};

/// What a window counts in a send.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CostUnit {
    /// Requests (RPM, RPD).
    Requests,
    /// Input plus output tokens (OpenAI TPM, Anthropic `tokens`).
    Tokens,
    /// Input tokens only (Anthropic ITPM, Gemini TPM).
    InputTokens,
    /// Output tokens only (Anthropic OTPM).
    OutputTokens,
}

/// What one send costs (estimated at dispatch, actual at settlement).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SendCost {
    /// Requests, normally 1.
    pub requests: u64,
    /// Input (prompt) tokens.
    pub input_tokens: u64,
    /// Output tokens (at dispatch: the `max_tokens` the provider reserves).
    pub output_tokens: u64,
}

impl SendCost {
    /// One request of `input_tokens` in and up to `output_tokens` out.
    pub const fn request(input_tokens: u64, output_tokens: u64) -> Self {
        SendCost {
            requests: 1,
            input_tokens,
            output_tokens,
        }
    }

    /// The amount `unit` counts.
    pub const fn of(&self, unit: CostUnit) -> u64 {
        match unit {
            CostUnit::Requests => self.requests,
            CostUnit::Tokens => self.input_tokens.saturating_add(self.output_tokens),
            CostUnit::InputTokens => self.input_tokens,
            CostUnit::OutputTokens => self.output_tokens,
        }
    }
}

/// One window to model: what it counts, how long it is, which header dimension reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// What a send costs in this window.
    pub unit: CostUnit,
    /// The window over which `limit` refills completely (60 s for RPM/TPM, a day for RPD).
    pub window: Duration,
    /// The header dimension that reports this window (`None`: only our own sends count, e.g.
    /// an RPD the provider sends no header for).
    pub source: Option<Dimension>,
    /// The limit before any header arrives (`None`: unconstrained until a header says).
    pub limit: Option<u64>,
    /// Whether `window` is only a first guess, corrected from the resets the provider reports
    /// (see `headroom_length`): headers give a limit, never its period. Such a window
    /// also refills at once at each boundary when the provider's resets count down to one
    /// (Azure), instead of linearly.
    pub learns_length: bool,
}

impl WindowSpec {
    /// A window of `unit` over `window`, reported by header dimension `source`, with a prior
    /// `limit`.
    pub fn new(
        unit: CostUnit,
        window: Duration,
        source: Option<Dimension>,
        limit: Option<u64>,
    ) -> Self {
        WindowSpec {
            unit,
            window,
            source,
            limit,
            learns_length: false,
        }
    }

    /// The same window, its length only a first guess that the provider's resets correct.
    pub fn learning_length(mut self) -> Self {
        self.learns_length = true;
        self
    }
}

/// The model's current belief about one window, for comparison with the provider's truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowEstimate {
    /// What the window counts.
    pub unit: CostUnit,
    /// Its length.
    pub window: Duration,
    /// The header dimension that reports it.
    pub source: Option<Dimension>,
    /// The limit believed in force (`None`: unknown, the window does not throttle).
    pub limit: Option<u64>,
    /// Whole units believed left (negative: debt); `None` if the limit is unknown.
    pub remaining: Option<i64>,
    /// Time until the window is full again (OpenAI's `reset` meaning); `None` if unknown.
    pub full_in: Option<Duration>,
}

/// The state of one window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WindowModel {
    spec: WindowSpec,
    limit: Option<u64>,
    /// Level in scaled units (units × window ns) at `as_of`.
    level: i128,
    as_of: Time,
    /// The length's learning state, when the spec asks for it.
    length: Option<LengthLearner>,
    /// For a fixed window (learned from a provider whose resets count down to a boundary,
    /// Azure): when it is next refilled to full, at once. `None`: a linear refill. Why both:
    /// approximating a fixed window linearly lets the model refill mid-window what the provider
    /// only gives back at the boundary, so it sends into 429s every window.
    boundary: Option<Time>,
}

impl WindowModel {
    /// A full window (if a prior limit is given).
    pub(crate) fn new(spec: WindowSpec) -> Self {
        let limit = spec.limit.filter(|&l| l > 0);
        let length = spec.learns_length.then(LengthLearner::default);
        let mut model = WindowModel {
            spec,
            limit,
            level: 0,
            as_of: Time::ZERO,
            length,
            boundary: None,
        };
        model.level = model.capacity();
        model
    }

    pub(crate) fn spec(&self) -> &WindowSpec {
        &self.spec
    }

    pub(crate) fn limit(&self) -> Option<u64> {
        self.limit
    }

    fn window_ns(&self) -> i128 {
        i128::from(self.spec.window.as_nanos().max(1))
    }

    /// A full bucket, in scaled units (0 if the limit is unknown).
    fn capacity(&self) -> i128 {
        i128::from(self.limit.unwrap_or(0)) * self.window_ns()
    }

    /// The level at `now` (no refill for a `now` before the last update).
    fn level_at(&self, now: Time) -> i128 {
        if let Some(boundary) = self.boundary {
            return if now >= boundary {
                self.capacity()
            } else {
                self.level
            };
        }
        let elapsed = i128::from(now.saturating_since(self.as_of).as_nanos());
        let refill = elapsed * i128::from(self.limit.unwrap_or(0));
        self.level.saturating_add(refill).min(self.capacity())
    }

    fn settle(&mut self, now: Time) {
        if now > self.as_of {
            self.level = self.level_at(now);
            self.as_of = now;
            self.boundary = self.boundary.map(|b| self.boundary_after(b, now));
        }
    }

    /// The first boundary after `now` of a fixed window whose boundary was `boundary`.
    fn boundary_after(&self, boundary: Time, now: Time) -> Time {
        if now < boundary {
            return boundary;
        }
        let window = self.spec.window.as_nanos().max(1);
        let windows = now.saturating_since(boundary).as_nanos() / window + 1;
        boundary.saturating_add(Duration::from_nanos(windows.saturating_mul(window)))
    }

    /// Time from `now` until a level short of `need` scaled units is enough: the next boundary
    /// of a fixed window, or the refill of the deficit at `limit` a nanosecond.
    fn time_to(&self, now: Time, need: i128, limit: u64) -> Duration {
        let deficit = need - self.level_at(now);
        match self.boundary {
            Some(_) if deficit <= 0 => Duration::ZERO,
            Some(boundary) => self.boundary_after(boundary, now).saturating_since(now),
            None => ceil_ns(deficit, limit),
        }
    }

    /// Whole units left at `now` (rounded down), if the limit is known.
    pub(crate) fn remaining(&self, now: Time) -> Option<i64> {
        self.limit?;
        let units = self.level_at(now).div_euclid(self.window_ns());
        Some(i64::try_from(units).unwrap_or(if units < 0 { i64::MIN } else { i64::MAX }))
    }

    /// Time until full at `now`, if the limit is known.
    pub(crate) fn full_in(&self, now: Time) -> Option<Duration> {
        let limit = self.limit?;
        Some(self.time_to(now, self.capacity(), limit))
    }

    /// Time from `now` until the level covers `need` units (0 if it already does). `need` must
    /// not exceed the limit; with an unknown limit there is no constraint.
    pub(crate) fn wait_for(&self, now: Time, need: u64) -> Duration {
        let Some(limit) = self.limit else {
            return Duration::ZERO;
        };
        self.time_to(now, i128::from(need) * self.window_ns(), limit)
    }

    /// Take `amount` units at `now` (may go into debt).
    pub(crate) fn consume(&mut self, now: Time, amount: u64) {
        self.settle(now);
        self.level = self
            .level
            .saturating_sub(i128::from(amount) * self.window_ns());
    }

    /// Give back `amount` units at `now` (never above full).
    pub(crate) fn refund(&mut self, now: Time, amount: u64) {
        self.settle(now);
        let level = self
            .level
            .saturating_add(i128::from(amount) * self.window_ns());
        self.level = level.min(self.capacity());
    }

    /// A header snapshot reported `limit` and `remaining` for this window as of `at`. The
    /// provider's numbers replace the model's (they include traffic we cannot see, such as
    /// another service on the same key); the model is rebased to `at`, even if that is earlier
    /// than its last update, so the caller can replay the sends made since. Returns whether it
    /// was rebased (a known limit and a remaining); only then is a replay right.
    pub(crate) fn observe(&mut self, at: Time, limit: Option<u64>, remaining: Option<i64>) -> bool {
        self.settle(at);
        if let Some(limit) = limit.filter(|&l| l > 0) {
            let was_unknown = self.limit.is_none();
            self.limit = Some(limit);
            if was_unknown && remaining.is_none() {
                self.level = self.capacity();
            }
        }
        if let (Some(limit), Some(remaining)) = (self.limit, remaining) {
            let clamped = i128::from(remaining).min(i128::from(limit));
            self.level = clamped * self.window_ns();
            self.as_of = at;
            return true;
        }
        self.level = self.level.min(self.capacity());
        false
    }

    /// A header snapshot from `provider`, received at `at`, reported `limit`, `remaining` and
    /// `reset` for this window: if the window learns its length, correct it before the level is
    /// rebased (the level then follows from `remaining` at the new length). Call before
    /// [`WindowModel::observe`].
    pub(crate) fn learn_length(
        &mut self,
        exchange: Exchange,
        provider: Provider,
        reported: &DimensionState,
    ) {
        let at = exchange.received;
        let Some(learner) = &mut self.length else {
            return;
        };
        let (Some(limit), Some(remaining), Some(reset)) = (
            reported.limit.or(self.limit),
            reported.remaining,
            reported.reset_after,
        ) else {
            return;
        };
        let report = ResetReport {
            provider,
            limit,
            remaining,
            reset,
        };
        self.spec.window = learner.observe(exchange, self.spec.window, report);
        let fixed = counts_to_boundary(provider);
        self.boundary = fixed.then(|| self.tightest_boundary(at, at.saturating_add(reset)));
    }

    /// The boundary to believe after an answer at `at` said the window refills at `reported`.
    /// Whole-second resets are rounded up (the simulator's Azure does; a reset that undershot
    /// would refill the model before the provider), so each answer gives an upper bound, late
    /// by up to a second: answers about the same boundary keep the earliest, which the spread
    /// of arrival times within a second brings close to the true one. A boundary half a window
    /// away from the one believed names another window and replaces it.
    fn tightest_boundary(&self, at: Time, reported: Time) -> Time {
        let Some(believed) = self.boundary.map(|b| self.boundary_after(b, at)) else {
            return reported;
        };
        let apart = reported.as_nanos().abs_diff(believed.as_nanos());
        if apart < self.spec.window.as_nanos() / 2 {
            reported.min(believed)
        } else {
            reported
        }
    }

    /// Bring the level forward to `now` (no-op for an earlier `now`).
    pub(crate) fn settle_to(&mut self, now: Time) {
        self.settle(now);
    }

    pub(crate) fn estimate(&self, now: Time) -> WindowEstimate {
        WindowEstimate {
            unit: self.spec.unit,
            window: self.spec.window,
            source: self.spec.source.clone(),
            limit: self.limit,
            remaining: self.remaining(now),
            full_in: self.full_in(now),
        }
    }
}

/// `deficit / rate` nanoseconds rounded up (0 for no deficit), saturating.
fn ceil_ns(deficit: i128, rate: u64) -> Duration {
    if deficit <= 0 {
        return Duration::ZERO;
    }
    let ns = deficit.div_euclid(i128::from(rate)) + i128::from(deficit % i128::from(rate) != 0);
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpm(limit: u64) -> WindowModel {
        let spec = WindowSpec::new(
            CostUnit::Requests,
            Duration::from_secs(60),
            Some(Dimension::Requests),
            Some(limit),
        );
        WindowModel::new(spec)
    }

    #[test]
    fn refills_linearly_like_openai_resets() {
        let mut w = rpm(5000);
        w.consume(Time::ZERO, 1);
        // OpenAI: 5000 limit, 4999 remaining → reset 12ms.
        assert_eq!(w.remaining(Time::ZERO), Some(4999));
        assert_eq!(w.full_in(Time::ZERO), Some(Duration::from_millis(12)));
        assert_eq!(w.remaining(Time::from_nanos(12_000_000)), Some(5000));
    }

    #[test]
    fn debt_is_kept_and_waits_are_exact() {
        let mut w = rpm(60);
        w.observe(Time::from_secs(10), None, Some(-2));
        assert_eq!(w.remaining(Time::from_secs(10)), Some(-2));
        // 3 units to reach 1 at 1 unit/s.
        assert_eq!(w.wait_for(Time::from_secs(10), 1), Duration::from_secs(3));
        assert_eq!(w.wait_for(Time::from_secs(13), 1), Duration::ZERO);
        w.refund(Time::from_secs(13), 1000);
        assert_eq!(w.remaining(Time::from_secs(13)), Some(60));
    }

    #[test]
    fn unknown_limits_do_not_throttle_until_a_header_says() {
        let spec = WindowSpec::new(CostUnit::Tokens, Duration::from_secs(60), None, None);
        let mut w = WindowModel::new(spec);
        assert_eq!(w.wait_for(Time::ZERO, 1_000_000), Duration::ZERO);
        assert_eq!(w.remaining(Time::ZERO), None);
        w.observe(Time::ZERO, Some(30_000), Some(0));
        assert_eq!(w.wait_for(Time::ZERO, 500), Duration::from_secs(1));
    }
}
