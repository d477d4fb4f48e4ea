//! Everything about the provider on the other side of the gateway.
//!
//! Today this is [`headers`]: turning a response's rate-limit headers (every provider's format)
//! into one [`headers::RateLimitSnapshot`]. Proactive throttling, backoff, circuit breaking and
//! failover will build on that snapshot, so they never see a provider's wire format.
//!
//! Like the rest of the crate this is sans-IO and reads no clock: absolute times in headers are
//! measured against the response's own `Date` header (or a date the caller passes in).

pub mod headers;

pub use headers::{
    Dimension, DimensionState, HeaderError, Provider, RateLimitSnapshot, UnixNanos, ValueError,
    parse_headers, parse_headers_strict,
};
