//! Rate-limit response headers of every provider → one [`RateLimitSnapshot`].
//!
//! | provider | limit / remaining | reset | wait hint |
//! |---|---|---|---|
//! | OpenAI, Groq | `x-ratelimit-{limit,remaining}-{requests,tokens,project-tokens,tokens_usage_based}` | Go duration `6m0s` | `retry-after` |
//! | Azure OpenAI | same names, also `x-rate-limit-*`; `-1` = unknown, remaining may be negative | integer seconds `55` | `retry-after`, `retry-after-ms` |
//! | Anthropic | `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-*`, `anthropic-priority-*` | RFC 3339 instant | `retry-after` |
//! | Mistral | `ratelimitbysize-*`, `x-ratelimitbysize-*-{minute,month}` | seconds | – |
//! | generic | `X-RateLimit-*`, `RateLimit-*` | seconds, or Unix time if > 10^9 | `Retry-After` (seconds or HTTP-date) |
//!
//! ## Design decisions
//! - **Syntax decides the format, not the provider.** Go durations, bare seconds, Unix times,
//!   RFC 3339 and HTTP-dates are syntactically disjoint, so every header is read the same way
//!   whoever sent it; the [`Provider`] hint only labels the result. Bare numbers > 10^9 are Unix
//!   times (see [`reset`](parse_reset)).
//! - **No clock.** Absolute times become waits by subtracting the response's own `Date`
//!   (skew-free: the provider computed both with one clock); the caller's `fallback_date` is
//!   used only without a valid `Date`. Waits already past clamp to zero.
//! - **Exact integers.** Decimal text is scaled to integer nanoseconds by hand (`2m52.8s` is
//!   172_800_000_000 ns exactly); no floats, no rounding surprises.
//! - **Huge numbers saturate** (`retry-after: 99999999999999999999` → [`Duration::MAX`](crate::Duration::MAX)):
//!   the meaning "wait longer than anything" survives, and only non-numbers are errors.
//! - **Unknown is `None`.** Negative limits, remaining `-1`, negative resets, and the zero reset
//!   beside an unknown limit are "unknown"; other negative remaining values are real debt and
//!   kept. A negative `retry-after` is an error ([`ValueError::NegativeRetryAfter`]).
//! - **Lenient by default.** [`parse_headers`] keeps every readable value and lists every bad
//!   header in [`RateLimitSnapshot::errors`]; [`parse_headers_strict`] fails on the first.
//! - **Never a panic** on any input, and bounded work ([`MAX_HEADERS`], [`MAX_LINES`]).
//!
//! ```
//! use spillway_core::Duration;
//! use spillway_core::upstream::headers::{Dimension, Provider, parse_headers};
//!
//! let snap = parse_headers(
//!     [
//!         ("Date", "Thu, 21 Aug 2025 12:41:00 GMT"),
//!         ("anthropic-ratelimit-tokens-limit", "96000"),
//!         ("anthropic-ratelimit-tokens-reset", "2025-08-21T12:41:30Z"),
//!         ("retry-after", "-10"),
//!     ],
//!     Provider::Auto,
//!     None,
//! );
//! assert_eq!(snap.provider, Provider::Anthropic);
//! let tokens = snap.dim(&Dimension::Tokens).unwrap();
//! assert_eq!(tokens.limit, Some(96_000));
//! assert_eq!(tokens.reset_after, Some(Duration::from_secs(30)));
//! assert_eq!(snap.retry_after, None);
//! assert_eq!(snap.errors.len(), 1); // the negative retry-after, with its header and value
//! ```

mod counts;
mod date;
pub(crate) mod decimal;
mod dimension;
mod duration;
mod error;
mod http_date;
mod lines;
mod names;
mod parse;
mod provider;
mod reset;
mod retry_after;
mod snapshot;
mod unix_nanos;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod parse_tests;

pub use counts::{PPM, parse_limit, parse_remaining, parse_utilization_ppm};
pub use date::parse_rfc3339;
pub use dimension::Dimension;
pub use duration::{parse_go_duration, parse_millis, parse_seconds};
pub use error::{EXCERPT_CHARS, HeaderError, ValueError};
pub use http_date::parse_http_date;
pub use lines::{MAX_LINES, parse_header_lines};
pub use parse::{MAX_HEADERS, parse_headers, parse_headers_strict};
pub use provider::Provider;
pub use reset::{EPOCH_THRESHOLD_SECS, Reset, parse_reset};
pub use retry_after::{RetryAfter, parse_retry_after, parse_retry_after_ms};
pub use snapshot::{DimensionState, RateLimitSnapshot};
pub use unix_nanos::UnixNanos;
