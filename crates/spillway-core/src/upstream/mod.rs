//! Everything about the provider on the other side of the gateway.
//!
//! - [`headers`]: a response's rate-limit headers (every provider's format) → one
//!   [`headers::RateLimitSnapshot`]. Everything below sees only that snapshot, never a wire
//!   format.
//! - [`Headroom`]: a local model of the provider's remaining quota per dimension and window,
//!   fed by snapshots and by our own sends, answering "when may a send of this cost go?" so the
//!   gateway waits *before* the provider would refuse (proactive throttling). It includes the
//!   [`RetryGate`]: nothing is sent before a `Retry-After` has passed.
//! - [`Backoff`]: delays between attempts (none, constant, exponential, full / equal /
//!   decorrelated / SDK jitter), at least the Retry-After unless the client uses it otherwise
//!   ([`RetryAfterUse`]); [`ClientPreset`]: the official SDKs' defaults by name.
//! - [`RetryBudget`]: retries at most a fraction (10 %) of requests over a sliding window.
//! - [`Escalation`]: consecutive 429s → an alert and a switch to the fallback provider.
//! - [`CircuitBreaker`]: closed / open / half-open, with observable transitions.
//! - [`Failover`]: primary, fallback, or (counted) a cached answer; [`Outcome`]: which
//!   answers are the provider's failures (retried, counted) and which the client's own.
//!
//! Like the rest of the crate this is sans-IO and reads no clock: every call takes `now`, the
//! jitter RNG is passed in, and state is integers. Absolute times in headers are measured
//! against the response's own `Date` header (or a date the caller passes in).
//!
//! ## Wiring into a dispatcher
//! Before a send: [`Headroom::earliest_send`] (quota and Retry-After), then [`Failover::route`]
//! (breaker, escalation, cache); on dispatch [`Headroom::on_send`] and
//! [`RetryBudget::on_request`]. On a response: [`Headroom::observe_as_of`] the parsed headers
//! (as of the request's send time, so sends made while it was in flight are replayed),
//! [`Failover::on_outcome`]; on a failure [`Backoff::on_failure`] gives the delay and
//! [`RetryBudget::try_retry`] whether to retry. When the call completes,
//! [`Headroom::on_settle`] the actual tokens. (The engine does exactly this.)
//!
//! ```
//! use rand_chacha::ChaCha8Rng;
//! use rand_core::SeedableRng;
//! use spillway_core::upstream::headers::{Dimension, Provider, parse_headers};
//! use spillway_core::upstream::*;
//! use spillway_core::{Duration, Time};
//!
//! let minute = Duration::from_secs(60);
//! let mut headroom = Headroom::new(HeadroomConfig {
//!     windows: vec![
//!         WindowSpec::new(CostUnit::Requests, minute, Some(Dimension::Requests), None),
//!         WindowSpec::new(CostUnit::Tokens, minute, Some(Dimension::Tokens), None),
//!     ],
//!     margin_ppm: 50_000, // hold back 5 % of every limit
//! })?;
//! let breaker = CircuitBreaker::new(BreakerConfig::default());
//! let mut failover = Failover::new(UpstreamHealth::new(breaker, Escalation::default()), None);
//! let mut budget = RetryBudget::sre_default();
//! let mut backoff = Backoff::new(BackoffConfig::default());
//! let mut jitter = ChaCha8Rng::seed_from_u64(7); // the simulator's jitter stream
//!
//! // Dispatch at t = 1 s: no limits known yet, so no wait.
//! let cost = SendCost::request(1_200, 500);
//! let at = headroom.earliest_send(Time::from_secs(1), &cost)?;
//! assert_eq!(at, Time::from_secs(1));
//! assert_eq!(failover.route(at, false), Route::Send(Target::Primary));
//! headroom.on_send(at, &cost);
//! budget.on_request(at);
//!
//! // At t = 2 s: a 429 saying the 30 000 TPM are used up, retry after 3 s.
//! let now = Time::from_secs(2);
//! let headers = [
//!     ("x-ratelimit-limit-tokens", "30000"),
//!     ("x-ratelimit-remaining-tokens", "0"),
//!     ("retry-after", "3"),
//! ];
//! let snapshot = parse_headers(headers, Provider::OpenAi, None);
//! headroom.observe_as_of(now, at, &snapshot); // describes the provider when we sent
//! assert_eq!(failover.on_outcome(now, Target::Primary, Outcome::RateLimited), None);
//! let RetryDecision::RetryAfter(delay) = backoff.on_failure(snapshot.retry_after, &mut jitter)
//! else { unreachable!("4 retries left") };
//! assert!(delay >= Duration::from_secs(3), "never before Retry-After");
//! assert!(!budget.try_retry(now), "1 request allows no retry at 10 %");
//!
//! // 0 tokens left at 1 s, refilling 500/s: 1 700 tokens + the 1 500 margin are there at 7.4 s.
//! let next = headroom.earliest_send(now, &cost)?;
//! assert_eq!(next, Time::from_nanos(7_400_000_000));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backoff;
mod breaker;
mod client_preset;
mod escalation;
mod failover;
pub mod headers;
mod headroom;
mod headroom_length;
mod headroom_log;
mod headroom_window;
mod outcome;
mod retry_budget;
mod retry_gate;
mod uniform;

pub use backoff::{
    Backoff, BackoffConfig, BackoffError, BackoffStrategy, DEFAULT_MAX_RETRY_AFTER, GiveUpReason,
    RetryAfterUse, RetryDecision,
};
pub use breaker::{
    BreakerConfig, BreakerError, BreakerOpen, BreakerState, CircuitBreaker,
    MAX_PENDING_TRANSITIONS, Transition,
};
pub use client_preset::ClientPreset;
pub use escalation::{Escalation, EscalationEvent};
pub use failover::{Failover, Route, RouteCounts, Target, UpstreamHealth};
pub use headers::{
    Dimension, DimensionState, HeaderError, Provider, RateLimitSnapshot, UnixNanos, ValueError,
    parse_headers, parse_headers_strict,
};
pub use headroom::{Headroom, HeadroomConfig, HeadroomError, MAX_WINDOWS};
pub use headroom_log::{MAX_LOGGED_SENDS, SEND_LOG_HORIZON, SendMark};
pub use headroom_window::{CostUnit, SendCost, WindowEstimate, WindowSpec};
pub use outcome::Outcome;
pub use retry_budget::{RetryBudget, RetryBudgetError};
pub use retry_gate::RetryGate;
