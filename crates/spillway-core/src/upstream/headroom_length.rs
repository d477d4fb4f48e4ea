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
//!   longer window). Until two such boundaries are seen, a window only lengthens from the first
//!   guess. Answers are compared with an anchor, not only the previous one, so that latencies
//!   above half the window (whose consecutive spans always overlap) still find two apart.
//! - **Continuous refill with coarse resets, or an unknown provider** (Anthropic's whole
//!   seconds, generic headers): a reset with nothing owed never exceeds its window, so a longer
//!   one lengthens the window; a short reset there only means little was used, so such windows
//!   never shrink below the first guess.
//!
//! Either way the estimate is snapped to the periods providers use ([`PERIODS`]): one
//! observation's rounding cannot invent a 47-second window.
//!
//! A long reset is evidence for [`EVIDENCE_WINDOWS`] windows of the period it shows, counted
//! from the last answer that showed it ([`ResetsSeen`]): one wild reset (a provider's glitch, a
//! limit changed from per day to per minute) would otherwise pin the window at a day until
//! restart, and the model would refill a minute's quota once a day.

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

/// How many windows of a period the last reset showing it stays evidence for. Why two: a true
/// fixed window shows a reset past the next shorter period to every answer in all but the tail of
/// each window, so traffic in every window (any phase but that tail) refreshes it at least once
/// every two windows, however its answers fall; a continuous one only when more than that
/// period's share of its limit is used, so a surge every other window keeps it. A lone outlier
/// stops counting two of its windows after it was seen: at most two days (the longest period).
pub(crate) const EVIDENCE_WINDOWS: u64 = 2;

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
    /// The length believed at the first answer (the configured guess): resets only lengthen a
    /// window from it, and it comes back to it when their evidence lapses.
    prior: Option<Duration>,
    /// The resets reported with nothing owed (a reset then never exceeds its window; with debt,
    /// a continuous refill's may), as the periods they show, while they count.
    resets: ResetsSeen,
    /// The span of the answer later ones are compared with (fixed windows): the narrowest of
    /// those that overlapped it since it was taken.
    anchor: Option<Between>,
    /// The longest the gap can be between the boundaries of two answers whose spans are apart
    /// (fixed windows), so that they surely named different ones: the gap is a whole number
    /// of windows, so the window is at most this; the shortest such bound seen.
    shortest_gap: Option<Duration>,
}

/// The periods long resets showed, each with the last answer that showed it: bounded (one
/// instant per period), so that evidence lapses without a list of answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ResetsSeen {
    /// `last[i]`: when an answer last reported a reset that [`PERIODS`]`[i]` is the shortest
    /// period to fit.
    last: [Option<Time>; PERIODS.len()],
}

impl ResetsSeen {
    /// An answer received `at` reported `reset` with nothing owed.
    fn note(&mut self, at: Time, reset: Duration) {
        let i = period_index(reset);
        // Answers may be noted out of order: the latest receipt counts.
        self.last[i] = Some(self.last[i].map_or(at, |t| t.max(at)));
    }

    /// The longest period a reset still counting at `now` showed ([`EVIDENCE_WINDOWS`] of its
    /// windows after it was last seen), or the shortest period without one.
    fn longest(&self, now: Time) -> Duration {
        PERIODS
            .iter()
            .zip(self.last)
            .rev()
            .find(|&(&period, last)| {
                last.is_some_and(|t| {
                    now.saturating_since(t) <= period.saturating_mul(EVIDENCE_WINDOWS)
                })
            })
            .map_or(PERIODS[0], |(&period, _)| period)
    }
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
        let prior = *self.prior.get_or_insert(believed);
        if report.remaining >= 0 {
            self.resets.note(exchange.received, report.reset);
        }
        let at_least = self.resets.longest(exchange.received);
        if refill == Refill::Unknown {
            return prior.max(at_least);
        }
        // The provider counted the reset between send and receipt, rounded up to the second.
        let boundary = Between {
            earliest: (exchange.sent.saturating_add(report.reset)).saturating_sub(ROUNDING),
            latest: exchange.received.saturating_add(report.reset),
        };
        self.note_boundary(boundary);
        match self.shortest_gap {
            None => prior.max(at_least),
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

/// The index in [`PERIODS`] of the shortest period `reset` fits in, allowing the overshoot of
/// [`ROUNDING`] or a tenth of the period (the longest period for anything longer).
fn period_index(reset: Duration) -> usize {
    let fits = |p: &Duration| {
        let slack = ROUNDING.max(Duration::from_nanos(p.as_nanos() / 10));
        reset <= p.saturating_add(slack)
    };
    PERIODS.iter().position(fits).unwrap_or(PERIODS.len() - 1)
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
mod tests;
