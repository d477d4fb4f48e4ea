//! How long a quota window is, learned from the provider's own headers.
//!
//! Why: headers say a limit, never its period. Reading every limit as per minute misreads two
//! real providers badly: Groq's `x-ratelimit-limit-requests` is per **day** (a model refilling
//! 1,000 requests a minute instead of a day sends into 429s), and an Azure deployment's is per
//! **10 s** (`20` for 120 RPM: a model refilling 20 a minute throttles the deployment to a sixth
//! of its quota). The numbers the provider sends with each answer pin the period down:
//!
//! - **Continuous refill** (OpenAI and compatible APIs, Groq among them): the reset is the time
//!   until full, `(limit − remaining) / limit × window` (provider-semantics.md, checked on six
//!   captures), so `window = reset × limit / (limit − remaining)`. Go durations are exact to the
//!   millisecond; a reset of at least [`MIN_EXACT_RESET`] keeps the rounding error under 5 %.
//! - **Fixed windows** (Azure's sub-windows): the reset counts down to the next boundary, so a
//!   window is shortened only after resets observed over [`SHRINK_AFTER`] of the shorter length
//!   all fit in it (within that span a longer window would have shown a longer reset: the reset
//!   climbs back to the whole window at every boundary).
//! - **Any provider**: a reset never exceeds its window, so a reset longer than the window
//!   believed lengthens it at once. That is all a continuous refill with coarse resets
//!   (Anthropic's whole seconds) or an unknown provider tells: a short reset there only means
//!   little was used, so such windows never shrink.
//!
//! Either way the estimate is snapped to the periods providers use ([`PERIODS`]): one
//! observation's rounding cannot invent a 47-second window.

use super::headers::Provider;
use crate::time::{Duration, Time};

/// The window lengths providers use: Azure's 1 s and 10 s sub-windows, the minute, the hour, the
/// day (Groq's and OpenAI's RPD, TPD).
pub(crate) const PERIODS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(3_600),
    Duration::from_secs(86_400),
];

/// The shortest reset the continuous-refill formula trusts (Go durations are rounded to 1 ms).
pub(crate) const MIN_EXACT_RESET: Duration = Duration::from_millis(20);

/// How many lengths of a shorter window the resets must span before a fixed window shrinks to it.
pub(crate) const SHRINK_AFTER: u64 = 3;

/// How a provider's windows refill, as far as the length can be read from its resets.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Refill {
    /// Linear refill with millisecond resets: the formula gives the length.
    Continuous,
    /// Fixed windows: the reset counts down to the next boundary.
    Fixed,
    /// Anything else: a reset only bounds the window from below.
    Unknown,
}

impl Refill {
    fn of(provider: Provider) -> Refill {
        match provider {
            Provider::OpenAi => Refill::Continuous,
            Provider::Azure => Refill::Fixed,
            // Anthropic refills continuously but its resets are whole seconds: too coarse for
            // the formula on the small deficits a gateway sees.
            _ => Refill::Unknown,
        }
    }
}

/// Whether `provider`'s windows are fixed, its resets counting down to the instant the whole
/// limit comes back (Azure's sub-windows and minutes).
pub(crate) fn counts_to_boundary(provider: Provider) -> bool {
    Refill::of(provider) == Refill::Fixed
}

/// One window's learning state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LengthLearner {
    /// The longest reset seen since `since`.
    longest_reset: Duration,
    /// When the first reset was seen.
    since: Option<Time>,
}

/// What one answer said about a window.
#[derive(Copy, Clone, Debug)]
pub(crate) struct ResetReport {
    /// Whose headers these are.
    pub provider: Provider,
    /// The limit in force.
    pub limit: u64,
    /// What was left.
    pub remaining: i64,
    /// Time until full.
    pub reset: Duration,
}

impl LengthLearner {
    /// The window's length after the answer received `at` reported `report`, given the length
    /// believed until now.
    pub(crate) fn observe(
        &mut self,
        at: Time,
        believed: Duration,
        report: ResetReport,
    ) -> Duration {
        let since = *self.since.get_or_insert(at);
        self.longest_reset = self.longest_reset.max(report.reset);
        let refill = Refill::of(report.provider);
        if refill == Refill::Continuous
            && let Some(length) = continuous_length(report)
        {
            return length;
        }
        let bound = period_at_least(self.longest_reset);
        let span = at.saturating_since(since);
        let shrinks = refill == Refill::Fixed
            && span.as_nanos() >= bound.as_nanos().saturating_mul(SHRINK_AFTER);
        if bound >= believed || shrinks {
            bound
        } else {
            believed
        }
    }
}

/// `reset × limit / (limit − remaining)` snapped to a period, when the reset is long enough to
/// trust and the estimate lies within a factor of two of the period (else the answer is noise
/// for this purpose: a reset not yet updated, another client's burst).
fn continuous_length(report: ResetReport) -> Option<Duration> {
    let used = i128::from(report.limit) - i128::from(report.remaining);
    if used <= 0 || report.reset < MIN_EXACT_RESET {
        return None;
    }
    let estimate = i128::from(report.reset.as_nanos()) * i128::from(report.limit) / used;
    let period = nearest_period(estimate);
    let ns = i128::from(period.as_nanos());
    (estimate * 2 >= ns && estimate <= ns * 2).then_some(period)
}

/// The period nearest `ns` on a log scale (the boundary between two is their geometric mean).
fn nearest_period(ns: i128) -> Duration {
    let square = ns.saturating_mul(ns);
    PERIODS
        .windows(2)
        .find(|pair| {
            let (a, b) = (
                i128::from(pair[0].as_nanos()),
                i128::from(pair[1].as_nanos()),
            );
            square < a * b
        })
        .map_or(PERIODS[PERIODS.len() - 1], |pair| pair[0])
}

/// The shortest period at least `reset` (the longest period for anything longer).
fn period_at_least(reset: Duration) -> Duration {
    PERIODS
        .iter()
        .copied()
        .find(|&p| p >= reset)
        .unwrap_or(PERIODS[PERIODS.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(provider: Provider, limit: u64, remaining: i64, reset: Duration) -> ResetReport {
        ResetReport {
            provider,
            limit,
            remaining,
            reset,
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    /// provider-semantics.md's captures: OpenAI's minute and Groq's day.
    #[test]
    fn continuous_resets_give_the_period() {
        let mut l = LengthLearner::default();
        let openai = report(Provider::OpenAi, 500, 499, Duration::from_millis(120));
        assert_eq!(l.observe(Time::ZERO, MINUTE, openai), MINUTE);
        let groq = report(Provider::OpenAi, 1_000, 998, Duration::from_millis(172_800));
        assert_eq!(
            l.observe(Time::ZERO, MINUTE, groq),
            Duration::from_secs(86_400)
        );
        let groq_tokens = report(Provider::OpenAi, 8_000, 7_927, Duration::from_millis(547));
        assert_eq!(l.observe(Time::ZERO, MINUTE, groq_tokens), MINUTE);
    }

    /// A reset too short to trust, or an estimate far from every period, changes nothing.
    #[test]
    fn untrustworthy_continuous_resets_keep_the_belief() {
        let mut l = LengthLearner::default();
        let rounded = report(Provider::OpenAi, 5_000, 4_999, Duration::from_millis(12));
        assert_eq!(l.observe(Time::ZERO, MINUTE, rounded), MINUTE);
        // 30 000 × 1 s / 1 000 = 30 s: between 10 s and a minute, near neither.
        let odd = report(Provider::OpenAi, 30_000, 29_000, Duration::from_secs(1));
        assert_eq!(l.observe(Time::ZERO, MINUTE, odd), MINUTE);
        // Short resets over an hour: a continuous window is not shortened by them.
        assert_eq!(l.observe(Time::from_secs(3_600), MINUTE, rounded), MINUTE);
    }

    /// Azure's 10 s sub-window: resets of at most 10 s over half a minute shrink the minute.
    #[test]
    fn fixed_windows_shrink_only_after_resets_span_three_of_them() {
        let mut l = LengthLearner::default();
        let at = |s| Time::from_secs(s);
        let azure = |reset| report(Provider::Azure, 100, 40, Duration::from_secs(reset));
        assert_eq!(l.observe(at(0), MINUTE, azure(7)), MINUTE);
        assert_eq!(l.observe(at(20), MINUTE, azure(10)), MINUTE);
        assert_eq!(l.observe(at(30), MINUTE, azure(3)), Duration::from_secs(10));
    }

    /// A reset longer than the window believed lengthens it at once.
    #[test]
    fn a_longer_reset_lengthens_the_window_at_once() {
        let mut l = LengthLearner::default();
        let ten = Duration::from_secs(10);
        let minute_reset = report(Provider::Azure, 20_000, 0, Duration::from_secs(42));
        assert_eq!(l.observe(Time::ZERO, ten, minute_reset), MINUTE);
        let mut l = LengthLearner::default();
        let anthropic = report(Provider::Anthropic, 50, 49, Duration::from_secs(2));
        assert_eq!(l.observe(Time::ZERO, MINUTE, anthropic), MINUTE);
        assert_eq!(l.observe(Time::from_secs(600), MINUTE, anthropic), MINUTE);
    }

    #[test]
    fn periods_snap_on_a_log_scale() {
        let s = |n: i128| n * 1_000_000_000;
        assert_eq!(nearest_period(s(3)), Duration::from_secs(1));
        assert_eq!(nearest_period(s(4)), Duration::from_secs(10));
        assert_eq!(nearest_period(s(24)), Duration::from_secs(10));
        assert_eq!(nearest_period(s(25)), MINUTE);
        assert_eq!(nearest_period(s(1_000_000)), Duration::from_secs(86_400));
        assert_eq!(period_at_least(Duration::from_millis(10_001)), MINUTE);
        assert_eq!(period_at_least(Duration::from_secs(999_999)), PERIODS[4]);
    }
}
