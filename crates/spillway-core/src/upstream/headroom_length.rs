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
//! - **Fixed windows** (Azure's sub-windows): the reset counts down to the next boundary, and
//!   boundaries fall whole windows apart. So the longest reset bounds the window from below,
//!   and the gap between two boundaries that consecutive answers surely named apart bounds it
//!   from above (each boundary is placed between the request's send and the answer's receipt,
//!   plus the rounding, and the longest the gap can be counts); the window is the longest
//!   period between the two (the safe side when traffic keeps landing at the same phase of a
//!   longer window). Until two such boundaries are seen, a window only lengthens. Answers are
//!   compared with an anchor, not only the previous one, so that latencies above half the
//!   window (whose consecutive spans always overlap) still find two apart.
//! - **Continuous refill with coarse resets, or an unknown provider** (Anthropic's whole
//!   seconds, generic headers): a reset with nothing owed never exceeds its window, so a longer
//!   one lengthens the window; a short reset there only means little was used, so such windows
//!   never shrink.
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

/// Whole-second resets are rounded (up, for Azure): a boundary an answer counts down to is late
/// by less than this, and a reset may overshoot its window by this much (or by a tenth of the
/// window, clocks being skewed: Anthropic's `Date` and reset disagree by a second).
const ROUNDING: Duration = Duration::from_secs(1);

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
    /// The longest reset reported with nothing owed (a reset then never exceeds its window;
    /// with debt, a continuous refill's may).
    longest_reset: Duration,
    /// The span of the answer later ones are compared with (fixed windows): the narrowest of
    /// those that overlapped it since it was taken.
    anchor: Option<Between>,
    /// The longest the gap can be between the boundaries of two answers whose spans are apart
    /// (fixed windows), so that they surely named different ones: the gap is a whole number
    /// of windows, so the window is at most this; the shortest such bound seen.
    shortest_gap: Option<Duration>,
}

/// When an answer was sent and received: the provider computed its reset in between.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Exchange {
    /// When the request went out.
    pub sent: Time,
    /// When its answer came back.
    pub received: Time,
}

impl From<Time> for Exchange {
    /// An answer known at one instant (sent and received together).
    fn from(at: Time) -> Self {
        Exchange {
            sent: at,
            received: at,
        }
    }
}

/// The earliest and latest instant a boundary may lie at.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Between {
    earliest: Time,
    latest: Time,
}

impl Between {
    fn width(self) -> Duration {
        self.latest.saturating_since(self.earliest)
    }
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
    /// The window's length after the answer of `exchange` reported `report`, given the length
    /// believed until now.
    pub(crate) fn observe(
        &mut self,
        exchange: impl Into<Exchange>,
        believed: Duration,
        report: ResetReport,
    ) -> Duration {
        let exchange = exchange.into();
        let refill = Refill::of(report.provider);
        if refill == Refill::Continuous {
            return continuous_length(report).unwrap_or(believed);
        }
        if report.remaining >= 0 {
            self.longest_reset = self.longest_reset.max(report.reset);
        }
        let at_least = period_fitting(self.longest_reset);
        if refill == Refill::Unknown {
            return believed.max(at_least);
        }
        // The provider counted the reset between send and receipt, rounded up to the second.
        let boundary = Between {
            earliest: (exchange.sent.saturating_add(report.reset)).saturating_sub(ROUNDING),
            latest: exchange.received.saturating_add(report.reset),
        };
        self.note_boundary(boundary);
        match self.shortest_gap {
            None => believed.max(at_least),
            Some(gap) => longest_period_within(at_least, gap.saturating_add(ROUNDING)),
        }
    }

    /// Compares where the boundary an answer counted down to may lie with the anchor's span.
    /// Apart (latency and rounding cannot join them), the two surely name different
    /// boundaries: the longest the gap between them can be is recorded, and the new span
    /// becomes the anchor. Overlapping, the narrower span stays the anchor. Why an anchor and
    /// not the previous answer: with latencies above half the window, consecutive answers'
    /// spans always overlap, but an answer is still compared with one sent long enough before.
    /// Any two spans that are apart give a bound no shorter than the true window, so the
    /// choice of anchor is about learning sooner, never about learning wrong.
    fn note_boundary(&mut self, boundary: Between) {
        let Some(anchor) = self.anchor else {
            self.anchor = Some(boundary);
            return;
        };
        let apart = boundary.earliest > anchor.latest || anchor.earliest > boundary.latest;
        if apart {
            let from = boundary.earliest.min(anchor.earliest);
            let gap = boundary.latest.max(anchor.latest).saturating_since(from);
            self.shortest_gap = Some(self.shortest_gap.map_or(gap, |g| g.min(gap)));
            self.anchor = Some(boundary);
        } else if boundary.width() < anchor.width() {
            self.anchor = Some(boundary);
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
    // Checked: a peer's headers may say a limit and a reset near u64::MAX.
    let scaled = i128::from(report.reset.as_nanos()).checked_mul(i128::from(report.limit))?;
    let estimate = scaled / used;
    let period = nearest_period(estimate);
    let ns = i128::from(period.as_nanos());
    (estimate >= ns / 2 && estimate / 2 <= ns).then_some(period)
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

/// The shortest period `reset` fits in, allowing the overshoot of [`ROUNDING`] or a tenth of the
/// period (the longest period for anything longer).
fn period_fitting(reset: Duration) -> Duration {
    let fits = |p: &Duration| {
        let slack = ROUNDING.max(Duration::from_nanos(p.as_nanos() / 10));
        reset <= p.saturating_add(slack)
    };
    PERIODS
        .iter()
        .copied()
        .find(fits)
        .unwrap_or(PERIODS[PERIODS.len() - 1])
}

/// The longest period from `shortest` up to `most`, or `shortest` if none fits (a boundary gap
/// shorter than the longest reset: contradictory answers, the reset wins).
fn longest_period_within(shortest: Duration, most: Duration) -> Duration {
    PERIODS
        .iter()
        .copied()
        .rev()
        .find(|&p| p >= shortest && p <= most)
        .unwrap_or(shortest)
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

    /// Real captures and the documentation's inconsistent sample (16 tokens used, 6 minutes to
    /// full: no period fits) do not move a continuous window between a minute and an hour.
    #[test]
    fn a_continuous_window_follows_the_formula_alone() {
        let mut l = LengthLearner::default();
        let answers = [
            report(Provider::OpenAi, 150_000, 149_984, Duration::from_secs(360)),
            report(Provider::OpenAi, 30_000, 29_968, Duration::from_millis(64)),
            report(Provider::OpenAi, 160_000, 159_976, Duration::from_millis(9)),
        ];
        for (i, answer) in answers.into_iter().enumerate() {
            assert_eq!(l.observe(Time::ZERO, MINUTE, answer), MINUTE, "answer {i}");
        }
    }

    /// A peer's extreme numbers are noise, not an overflow.
    #[test]
    fn extreme_headers_leave_the_window_alone() {
        let mut l = LengthLearner::default();
        for provider in [Provider::OpenAi, Provider::Azure, Provider::Generic] {
            let wild = report(provider, u64::MAX, i64::MIN, Duration::MAX);
            assert_eq!(l.observe(Time::MAX, MINUTE, wild), MINUTE);
        }
    }

    /// Azure's 10 s sub-window (limit 20): the first window's answers keep the minute; an
    /// answer about the next boundary, 10 s later, shows the window.
    #[test]
    fn a_fixed_window_is_learned_from_the_gap_between_boundaries() {
        let mut l = LengthLearner::default();
        let mut window = MINUTE;
        let mut learned = Vec::new();
        for (second, remaining, reset) in [(1, 17, 9), (5, 10, 5), (11, 17, 9), (15, 10, 5)] {
            let answer = report(Provider::Azure, 20, remaining, Duration::from_secs(reset));
            window = l.observe(Time::from_secs(second), window, answer);
            learned.push(window.as_nanos() / 1_000_000_000);
        }
        assert_eq!(learned, [60, 60, 10, 10]);
    }

    /// Answers late in each minute with latencies that differ by over a second (review17):
    /// the two answers about one boundary are not taken for two, and the minute stays.
    #[test]
    fn latency_jitter_keeps_the_minute() {
        let mut l = LengthLearner::default();
        let ms = Duration::from_millis;
        let mut learned = Vec::new();
        for (sent, latency) in [
            (55_000, 200),
            (57_000, 1_500),
            (115_000, 200),
            (117_000, 1_500),
        ] {
            let exchange = Exchange {
                sent: Time::ZERO.saturating_add(ms(sent)),
                received: Time::ZERO.saturating_add(ms(sent + latency)),
            };
            let reset = ms(60_000 - sent % 60_000);
            let answer = report(Provider::Azure, 20_000, 5_000, reset);
            learned.push(l.observe(exchange, MINUTE, answer).as_nanos() / 1_000_000_000);
        }
        assert_eq!(learned, [60, 60, 60, 60]);
    }

    /// Azure's 10 s window answered after 15 s (review18): consecutive answers' spans always
    /// overlap, but an answer compared with one sent long enough before learns the 10 s (the
    /// previous-answer rule kept the minute). The provider counts its reset halfway through.
    #[test]
    fn long_latencies_still_learn_a_ten_second_window() {
        let mut l = LengthLearner::default();
        let mut window = MINUTE;
        for i in 0..60u64 {
            let sent = i * 1_000 + 300;
            let counted = sent + 7_500;
            let boundary = (counted / 10_000 + 1) * 10_000;
            let reset = (boundary - counted).div_ceil(1_000) * 1_000;
            let exchange = Exchange {
                sent: Time::from_nanos(sent * 1_000_000),
                received: Time::from_nanos((sent + 15_000) * 1_000_000),
            };
            let answer = report(Provider::Azure, 100, 40, Duration::from_millis(reset));
            window = l.observe(exchange, window, answer);
        }
        assert_eq!(window, Duration::from_secs(10));
    }

    /// A job answered only late in each minute sees short resets, but its boundaries are a
    /// minute apart: the window stays a minute, not the 10 s the resets alone suggest.
    #[test]
    fn answers_at_one_phase_of_a_minute_keep_the_minute() {
        let mut l = LengthLearner::default();
        for second in [55u64, 57, 115, 117] {
            let reset = Duration::from_secs(60 - second % 60);
            let answer = report(Provider::Azure, 20_000, 5_000, reset);
            assert_eq!(l.observe(Time::from_secs(second), MINUTE, answer), MINUTE);
        }
    }

    /// A reset longer than every period believed lengthens the window at once; one a second
    /// over (skewed clocks), or one owed on a debt, does not.
    #[test]
    fn only_a_reset_clearly_past_the_window_lengthens_it() {
        let mut l = LengthLearner::default();
        let ten = Duration::from_secs(10);
        let skewed = report(Provider::Azure, 100, 3, Duration::from_secs(11));
        assert_eq!(l.observe(Time::ZERO, ten, skewed), ten);
        let minute_reset = report(Provider::Azure, 20_000, 0, Duration::from_secs(42));
        assert_eq!(l.observe(Time::ZERO, ten, minute_reset), MINUTE);
        let mut l = LengthLearner::default();
        let anthropic = report(Provider::Anthropic, 50, 0, Duration::from_secs(61));
        assert_eq!(l.observe(Time::ZERO, MINUTE, anthropic), MINUTE);
        let debt = report(Provider::Generic, 50, -200, Duration::from_secs(300));
        assert_eq!(l.observe(Time::ZERO, MINUTE, debt), MINUTE);
        let short = report(Provider::Anthropic, 50, 49, Duration::from_secs(2));
        assert_eq!(l.observe(Time::from_secs(600), MINUTE, short), MINUTE);
    }

    #[test]
    fn periods_snap_on_a_log_scale() {
        let s = |n: i128| n * 1_000_000_000;
        assert_eq!(nearest_period(s(3)), Duration::from_secs(1));
        assert_eq!(nearest_period(s(4)), Duration::from_secs(10));
        assert_eq!(nearest_period(s(24)), Duration::from_secs(10));
        assert_eq!(nearest_period(s(25)), MINUTE);
        assert_eq!(nearest_period(s(1_000_000)), Duration::from_secs(86_400));
        assert_eq!(
            period_fitting(Duration::from_secs(11)),
            Duration::from_secs(10)
        );
        assert_eq!(period_fitting(Duration::from_millis(11_001)), MINUTE);
        assert_eq!(period_fitting(Duration::from_secs(999_999)), PERIODS[4]);
        assert_eq!(
            longest_period_within(Duration::from_secs(10), MINUTE),
            MINUTE
        );
        assert_eq!(
            longest_period_within(MINUTE, Duration::from_secs(11)),
            MINUTE
        );
    }

    proptest::proptest! {
        /// The safety invariant: whatever the latencies and wherever between send and receipt
        /// the provider counts its whole-second reset, a fixed window is never learned shorter
        /// than it is (that would refill the model faster than the provider: 429s).
        #[test]
        fn a_fixed_window_is_never_learned_too_short(
            window_s in proptest::sample::select(vec![1u64, 10, 60]),
            start in 0u64..120_000,
            answers in proptest::collection::vec((0u64..2_000, 0u64..20_000, 0u64..=100), 1..40),
        ) {
            let mut l = LengthLearner::default();
            let mut believed = MINUTE;
            let mut sent = start;
            let w = window_s * 1_000;
            for (pause, latency, at_pct) in answers {
                sent += pause;
                let counted = sent + latency * at_pct / 100;
                let reset = ((counted / w + 1) * w - counted).div_ceil(1_000) * 1_000;
                let exchange = Exchange {
                    sent: Time::from_nanos(sent * 1_000_000),
                    received: Time::from_nanos((sent + latency) * 1_000_000),
                };
                let answer = report(Provider::Azure, 100, 10, Duration::from_millis(reset));
                believed = l.observe(exchange, believed, answer);
                proptest::prop_assert!(
                    believed >= Duration::from_secs(window_s),
                    "learned {believed:?} for a {window_s} s window"
                );
            }
        }
    }
}
