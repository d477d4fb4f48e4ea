//! Emulated upstream providers with their real rate-limit semantics.
//!
//! | kind | limits | shape | headers |
//! |---|---|---|---|
//! | `basic` (no `kind`) | RPM, TPM | continuous buckets, rejected calls free | OpenAI names, `retry-after` always |
//! | `openai` | RPM, TPM, RPD | continuous buckets, `max_tokens` reserved, 429s count | Go durations, `retry-after` sometimes |
//! | `anthropic` | RPM, ITPM, OTPM | continuous buckets | RFC 3339 resets, `retry-after`, 529 overload |
//! | `azure` | RPM per 1 s/10 s sub-window, TPM per minute | fixed windows | integer seconds, `retry-after-ms` |
//! | `gemini` | RPM, input TPM per minute, RPD per Pacific day | fixed windows | none; wait in the body |
//! | `generic` | N per window | fixed window | `X-RateLimit-Reset` Unix time |
//! | `unlimited` | none | `c` FIFO servers (M/M/c) | none |
//!
//! Every kind can also have a latency model ([`LatencySpec`]), an error latency (refusals and
//! failures take a round trip, [`DEFAULT_ERROR_LATENCY`] by default), overload rising with
//! concurrency, outage windows and other tenants of the same quota ([`SharedQuotaSpec`]).
//!
//! ## Design decisions
//! - **Answers carry real header text** ([`Answer::headers`]) so clients are tested with the
//!   same parser they use in production; the numbers behind them are also exposed as truth
//!   ([`EmulatedProvider::truth`]) to score a client's local model.
//! - **Completions are tracked inside** (a heap of in-flight calls), so settlement at the end
//!   of a call (Anthropic output tokens) needs nothing from the caller.
//! - **A wall clock** ([`WallClock`]) pins `Time::ZERO` to a real instant: `Date`, RFC 3339 and
//!   epoch resets and the Pacific day are then deterministic.
//! - **Randomness by stream** ([`STREAM_LATENCY`], [`STREAM_OVERLOAD`], [`STREAM_RETRY_HINT`]
//!   under [`crate::rng::Concern::Provider`]): enabling overload never shifts service times.

mod answer;
mod body;
mod calendar;
mod emulated;
#[cfg(test)]
mod emulated_tests;
mod format;
mod gates;
mod headers;
mod latency;
mod meter;
mod spec;
mod truth;

pub use answer::{Answer, LimitedBy, MAX_WIRE_DIMS, Outcome, Wire, WireDim};
pub use calendar::{DEFAULT_WALL_CLOCK_START, WallClock, http_date, next_pacific_midnight};
pub use emulated::{EmulatedProvider, STREAM_LATENCY, STREAM_OVERLOAD, STREAM_RETRY_HINT};
pub use format::{ceil_millis, ceil_secs, go_duration, nearest_thousand};
pub use gates::CallRequest;
pub use latency::service_time;
pub use meter::{Cadence, Meter, Room};
pub use spec::{
    DEFAULT_ERROR_LATENCY, KindSpec, LatencySpec, OtpmCounting, OutageSpec, OverloadSpec,
    ProviderSpec, SharedQuotaSpec,
};
pub use truth::QuotaTruth;
