//! [`Headroom`]: proactive throttling against a local model of the provider's quota.
//!
//! Seed 1: "track your upstream provider's limits locally and throttle yourself before you hit
//! them … Use [the headers] to keep a local model of how much headroom you have." Reacting to
//! 429s instead makes many clients retry together (a thundering herd) and wastes the requests
//! that were refused (OpenAI: "Unsuccessful requests contribute to your per-minute limit").
//!
//! The model is one linear-refill bucket per configured window ([`WindowSpec`]: RPM, TPM, RPD,
//! ITPM, …). Our own sends take their *estimated* cost at dispatch ([`Headroom::on_send`]) and
//! are reconciled with the actual cost later ([`Headroom::on_settle`]); every response's header
//! snapshot overwrites the model with the provider's numbers ([`Headroom::observe`]), because
//! those include traffic we cannot see. A safety margin (parts per million of each limit) is
//! held back, so estimation error and other clients do not push us into 429s.
//!
//! [`Headroom::earliest_send`] is the answer the dispatcher needs: the earliest instant a send
//! of a given cost fits every window *and* the [`RetryGate`] of the last Retry-After.

use super::headers::{Dimension, RateLimitSnapshot};
use super::headroom_length::Exchange;
use super::headroom_log::{SendLog, SendMark};
use super::headroom_window::{CostUnit, SendCost, WindowEstimate, WindowModel, WindowSpec};
use super::retry_gate::RetryGate;
use crate::time::{Duration, Time};

/// Most windows one model holds (real providers have at most five or six).
pub const MAX_WINDOWS: usize = 32;

/// Parts per million in one.
const PPM: u64 = 1_000_000;

/// A headroom configuration that cannot be used, or a send that can never fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeadroomError {
    /// The margin is above 100 %.
    #[error("safety margin {margin_ppm} ppm is above 1000000 (100 %)")]
    MarginTooLarge {
        /// The margin given.
        margin_ppm: u64,
    },
    /// A window of zero length cannot refill.
    #[error("window {index} has zero length")]
    ZeroWindow {
        /// The window's position in the configuration.
        index: usize,
    },
    /// More windows than [`MAX_WINDOWS`].
    #[error("{count} windows configured, at most {MAX_WINDOWS} allowed")]
    TooManyWindows {
        /// The number given.
        count: usize,
    },
    /// The send costs more than the window's whole limit: no wait can make it fit (OpenAI's
    /// "Request too large").
    #[error(
        "a send costing {cost} exceeds the limit {limit} of window {index}: it can never be sent"
    )]
    NeverFits {
        /// The window's position in the configuration.
        index: usize,
        /// The send's cost in that window's unit.
        cost: u64,
        /// The window's limit.
        limit: u64,
    },
}

/// What to model and how much to hold back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadroomConfig {
    /// The windows, in the order estimates are reported.
    pub windows: Vec<WindowSpec>,
    /// Held back from every limit, in parts per million (50 000 = 5 %).
    pub margin_ppm: u64,
}

impl HeadroomConfig {
    /// The default margin: 5 % of every limit.
    pub const DEFAULT_MARGIN_PPM: u64 = 50_000;

    /// The common shape: requests and tokens per minute, each fed by its header dimension
    /// (`requests`, `tokens`), with optional prior limits (else learned from headers) and the
    /// default margin.
    pub fn per_minute(rpm: Option<u64>, tpm: Option<u64>) -> Self {
        let minute = Duration::from_secs(60);
        HeadroomConfig {
            windows: vec![
                WindowSpec::new(CostUnit::Requests, minute, Some(Dimension::Requests), rpm),
                WindowSpec::new(CostUnit::Tokens, minute, Some(Dimension::Tokens), tpm),
            ],
            margin_ppm: Self::DEFAULT_MARGIN_PPM,
        }
    }

    /// What a gateway knows before its first answer: a requests and a tokens window, limits
    /// and lengths both learned from the headers (each length starts at a minute, the common
    /// period, and is corrected from the resets: Groq's requests per day, Azure's per 10 s).
    pub fn from_headers() -> Self {
        let config = Self::per_minute(None, None);
        let windows = config.windows.into_iter().map(WindowSpec::learning_length);
        HeadroomConfig {
            windows: windows.collect(),
            ..config
        }
    }
}

/// The local model of one provider's quota (one API key / project).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headroom {
    windows: Vec<WindowModel>,
    margin_ppm: u64,
    gate: RetryGate,
    log: SendLog,
}

impl Headroom {
    /// A model with every window full (or unconstrained where no limit is known yet).
    pub fn new(config: HeadroomConfig) -> Result<Self, HeadroomError> {
        if config.margin_ppm > PPM {
            let margin_ppm = config.margin_ppm;
            return Err(HeadroomError::MarginTooLarge { margin_ppm });
        }
        if config.windows.len() > MAX_WINDOWS {
            let count = config.windows.len();
            return Err(HeadroomError::TooManyWindows { count });
        }
        if let Some(index) = config.windows.iter().position(|w| w.window.is_zero()) {
            return Err(HeadroomError::ZeroWindow { index });
        }
        Ok(Headroom {
            windows: config.windows.into_iter().map(WindowModel::new).collect(),
            margin_ppm: config.margin_ppm,
            gate: RetryGate::new(),
            log: SendLog::default(),
        })
    }

    /// The units a send of `cost` must find in a window of `limit`: the cost plus the margin,
    /// but never more than the limit (a send the provider would accept when the window is
    /// full is never refused forever because of the margin).
    fn need(&self, cost: u64, limit: u64) -> u64 {
        let margin = u128::from(limit) * u128::from(self.margin_ppm);
        let margin = u64::try_from(margin.div_ceil(u128::from(PPM))).unwrap_or(u64::MAX);
        cost.saturating_add(margin).min(limit)
    }

    /// The earliest instant at or after `now` that a send of `cost` fits every window (with the
    /// margin) and the Retry-After gate. Errors if a window's limit is smaller than the cost.
    pub fn earliest_send(&self, now: Time, cost: &SendCost) -> Result<Time, HeadroomError> {
        let mut wait = Duration::ZERO;
        for (index, w) in self.windows.iter().enumerate() {
            let amount = cost.of(w.spec().unit);
            let Some(limit) = w.limit() else { continue };
            if amount == 0 {
                continue;
            }
            if amount > limit {
                return Err(HeadroomError::NeverFits {
                    index,
                    cost: amount,
                    limit,
                });
            }
            wait = wait.max(w.wait_for(now, self.need(amount, limit)));
        }
        Ok(self.gate.earliest(now.saturating_add(wait)))
    }

    /// Whether a send of `cost` may go at `now`.
    pub fn permits(&self, now: Time, cost: &SendCost) -> Result<bool, HeadroomError> {
        Ok(self.earliest_send(now, cost)? <= now)
    }

    /// A send of estimated `cost` went out at `now`: every window takes it. The mark names it
    /// for [`observe_quota_since`](Self::observe_quota_since) when its answer arrives.
    pub fn on_send(&mut self, now: Time, cost: &SendCost) -> SendMark {
        for w in &mut self.windows {
            let amount = cost.of(w.spec().unit);
            w.consume(now, amount);
        }
        self.log.push(now, *cost)
    }

    /// A send's actual cost is known at `now`: charge or refund the difference from the
    /// estimate it was sent with.
    pub fn on_settle(&mut self, now: Time, estimated: &SendCost, actual: &SendCost) {
        for w in &mut self.windows {
            let unit = w.spec().unit;
            let (est, act) = (estimated.of(unit), actual.of(unit));
            if act > est {
                w.consume(now, act - est);
            } else if est > act {
                w.refund(now, est - act);
            }
        }
    }

    /// A response's headers, received at `now`, describing the provider at `now` (use
    /// [`observe_as_of`](Self::observe_as_of) when they may predate some of our sends).
    pub fn observe(&mut self, now: Time, snapshot: &RateLimitSnapshot) {
        self.observe_as_of(now, now, snapshot);
    }

    /// A response's headers, received at `now`, that describe the provider as of `as_of`
    /// (conservatively: when the request was sent). The provider's limit and remaining replace
    /// the model's at `as_of` for every window they report, our sends after `as_of` are
    /// replayed on top (see [`SEND_LOG_HORIZON`](super::SEND_LOG_HORIZON)), and a Retry-After
    /// closes the gate from `now`, for [`DEFAULT_MAX_RETRY_AFTER`](super::DEFAULT_MAX_RETRY_AFTER)
    /// at most (an absurd hint, `retry-after: 99999999999999999999` or a far-future date, would
    /// otherwise close it for good; the engine bounds its own gate by the policy's
    /// `max_retry_after`). An HTTP-date Retry-After only counts if the snapshot could measure it
    /// (a `Date` header or the `fallback_date` given to
    /// [`parse_headers`](super::headers::parse_headers)).
    pub fn observe_as_of(&mut self, now: Time, as_of: Time, snapshot: &RateLimitSnapshot) {
        self.observe_quota_as_of(now, as_of, snapshot);
        if let Some(wait) = snapshot.retry_after {
            self.gate
                .on_retry_after(now, wait.min(super::DEFAULT_MAX_RETRY_AFTER));
        }
    }

    /// [`observe_as_of`](Self::observe_as_of) without the Retry-After: for a caller whose
    /// policy decides whether a hint pauses every request (the engine: only a coordinated
    /// policy, only a refusal's hint, only one its client obeys) and keeps its own gate.
    pub fn observe_quota_as_of(&mut self, now: Time, as_of: Time, snapshot: &RateLimitSnapshot) {
        let mark = self.log.mark_at(as_of.min(now));
        self.rebase(now, mark, snapshot);
    }

    /// The quota in the answer, received at `now`, to the send `sent` (without its
    /// Retry-After, as [`observe_quota_as_of`](Self::observe_quota_as_of)). The snapshot counts
    /// that send itself; every send made after it is replayed, those made at the same instant
    /// too (a drain sends many calls at one `now`, and the others are still on the wire).
    pub fn observe_quota_since(&mut self, now: Time, sent: SendMark, snapshot: &RateLimitSnapshot) {
        self.rebase(now, sent, snapshot);
    }

    /// Adopt the snapshot's limit and remaining as of `mark`'s instant, replay the sends made
    /// after `mark` on top, and bring every reported window to `now`.
    fn rebase(&mut self, now: Time, mark: SendMark, snapshot: &RateLimitSnapshot) {
        let as_of = mark.at.min(now);
        let exchange = Exchange {
            sent: as_of,
            received: now,
        };
        for w in &mut self.windows {
            let Some(source) = &w.spec().source else {
                continue;
            };
            let Some(state) = snapshot.dim(source) else {
                continue;
            };
            w.learn_length(exchange, snapshot.provider, state);
            if w.observe(as_of, state.limit, state.remaining) {
                let unit = w.spec().unit;
                for (at, cost) in self.log.after(mark) {
                    w.consume(at, cost.of(unit));
                }
            }
            w.settle_to(now);
        }
    }

    /// A Retry-After learned some other way (a 429 body, a 503) at `now`.
    pub fn on_retry_after(&mut self, now: Time, wait: Duration) -> Time {
        self.gate.on_retry_after(now, wait)
    }

    /// The Retry-After gate.
    pub const fn gate(&self) -> &RetryGate {
        &self.gate
    }

    /// The model's belief about every window at `now`, in configuration order (for the
    /// simulator's `quota_error_pct` and `reset_error_ms`).
    pub fn estimates(&self, now: Time) -> Vec<WindowEstimate> {
        self.windows.iter().map(|w| w.estimate(now)).collect()
    }

    /// The margin in parts per million.
    pub const fn margin_ppm(&self) -> u64 {
        self.margin_ppm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::headers::{Provider, parse_headers};

    #[test]
    fn per_minute_learns_its_limits_from_headers() {
        let mut h = Headroom::new(HeadroomConfig::per_minute(None, None)).unwrap();
        let big = SendCost::request(1_000_000, 0);
        assert_eq!(h.earliest_send(Time::ZERO, &big), Ok(Time::ZERO));
        let headers = [
            ("x-ratelimit-limit-requests", "600"),
            ("x-ratelimit-remaining-requests", "0"),
        ];
        h.observe(Time::ZERO, &parse_headers(headers, Provider::OpenAi, None));
        // 1 request + 5 % of 600 = 31 requests at 10/s.
        let at = h.earliest_send(Time::ZERO, &big).unwrap();
        assert_eq!(at, Time::from_nanos(3_100_000_000));
        assert_eq!(h.estimates(at)[0].remaining, Some(31));
        assert_eq!(h.estimates(at)[1].limit, None, "tokens still unknown");
    }

    /// Groq's requests limit is per day: the reset says so, and the model refills a day's
    /// limit over a day, not a minute (provider-semantics.md's capture: 1000/998 → 2m52.8s).
    #[test]
    fn a_groq_requests_limit_is_learned_as_per_day() {
        let mut h = Headroom::new(HeadroomConfig::from_headers()).unwrap();
        let one = SendCost::request(10, 0);
        let headers = [
            ("x-ratelimit-limit-requests", "1000"),
            ("x-ratelimit-remaining-requests", "998"),
            ("x-ratelimit-reset-requests", "2m52.8s"),
        ];
        h.observe(Time::ZERO, &parse_headers(headers, Provider::OpenAi, None));
        assert_eq!(
            h.estimates(Time::ZERO)[0].window,
            Duration::from_secs(86_400)
        );
        let empty = [
            ("x-ratelimit-limit-requests", "1000"),
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "24h0m0s"),
        ];
        h.observe(Time::ZERO, &parse_headers(empty, Provider::OpenAi, None));
        // 1 request + 5 % of 1000 = 51 requests at 1000 a day: 4406.4 s, not 3.06 s.
        let at = h.earliest_send(Time::ZERO, &one).unwrap();
        assert_eq!(at, Time::from_nanos(4_406_400_000_000));
    }

    /// An Azure deployment's requests limit is per 10 s and refills at the boundary its reset
    /// counts down to: once the resets have stayed within 10 s for half a minute, 20 requests
    /// come back every 10 s, all at once (not 20 a minute, and not a third of one every
    /// second: linearly, the model would send into a window the provider has not refilled).
    #[test]
    fn an_azure_requests_limit_is_learned_as_per_ten_seconds() {
        let mut h = Headroom::new(HeadroomConfig::from_headers()).unwrap();
        for (second, reset) in [(0u64, "10"), (15, "5"), (30, "10")] {
            let headers = [
                ("x-ratelimit-limit-requests", "20"),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", reset),
            ];
            let now = Time::from_secs(second);
            h.observe(now, &parse_headers(headers, Provider::Azure, None));
        }
        let now = Time::from_secs(30);
        assert_eq!(h.estimates(now)[0].window, Duration::from_secs(10));
        let one = SendCost::request(10, 0);
        let boundary = Time::from_secs(40);
        assert_eq!(h.earliest_send(now, &one), Ok(boundary));
        // 1 request + 5 % of 20 = 2 needed: 19 go at the boundary, the 20th waits a window.
        for _ in 0..19 {
            assert_eq!(h.earliest_send(boundary, &one), Ok(boundary));
            h.on_send(boundary, &one);
        }
        assert_eq!(h.earliest_send(boundary, &one), Ok(Time::from_secs(50)));
    }
}
