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
//!   decorrelated jitter), always at least the Retry-After.
//! - [`RetryBudget`]: retries at most a fraction (10 %) of requests over a sliding window.
//! - [`Escalation`]: consecutive 429s → an alert and a switch to the fallback provider.
//! - [`CircuitBreaker`]: closed / open / half-open, with observable transitions.
//! - [`Failover`]: primary, fallback, or (counted) a cached answer.
//!
//! Like the rest of the crate this is sans-IO and reads no clock: every call takes `now`, the
//! jitter RNG is passed in, and state is integers. Absolute times in headers are measured
//! against the response's own `Date` header (or a date the caller passes in).

mod backoff;
mod breaker;
mod escalation;
mod failover;
pub mod headers;
mod headroom;
mod headroom_window;
mod retry_budget;
mod retry_gate;
mod uniform;

pub use backoff::{Backoff, BackoffConfig, BackoffError, BackoffStrategy, RetryDecision};
pub use breaker::{
    BreakerConfig, BreakerError, BreakerOpen, BreakerState, CircuitBreaker,
    MAX_PENDING_TRANSITIONS, Transition,
};
pub use escalation::{Escalation, EscalationEvent};
pub use failover::{Failover, Outcome, Route, RouteCounts, Target, UpstreamHealth};
pub use headers::{
    Dimension, DimensionState, HeaderError, Provider, RateLimitSnapshot, UnixNanos, ValueError,
    parse_headers, parse_headers_strict,
};
pub use headroom::{Headroom, HeadroomConfig, HeadroomError, MAX_WINDOWS};
pub use headroom_window::{CostUnit, SendCost, WindowEstimate, WindowSpec};
pub use retry_budget::{RetryBudget, RetryBudgetError};
pub use retry_gate::RetryGate;
