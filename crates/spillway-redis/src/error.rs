//! Everything that can go wrong, as typed errors with messages that say what to fix.
//!
//! Unavailability (Redis unreachable, slow, restarting) is *not* an error of the limiter calls:
//! it is answered by the [`FailurePolicy`](crate::FailurePolicy). The errors here are the ones no
//! policy should hide: bad configuration, bad keys, rejected credentials, a broken script.

use spillway_core::limit::{Algorithm, LayeredError, LimitError, SpecError};

/// A key part (prefix, limiter name, layer name or caller's key) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The part is empty.
    #[error("{what} is empty; key parts need at least one character")]
    Empty {
        /// Which part (e.g. "key", "layer name").
        what: &'static str,
    },
    /// The part contains a character reserved for the key structure.
    #[error(
        "{what} {part:?} contains {ch:?} at byte {at}: '{{', '}}' and ':' are reserved \
         (Redis Cluster hash tags and Spillway's separators), and control characters are refused"
    )]
    Reserved {
        /// Which part.
        what: &'static str,
        /// The part as given.
        part: String,
        /// The refused character.
        ch: char,
        /// Its byte offset.
        at: usize,
    },
    /// The part is longer than [`MAX_KEY_PART`](crate::MAX_KEY_PART) bytes.
    #[error("{what} is {len} bytes long; at most {max} bytes are allowed")]
    TooLong {
        /// Which part.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
}

/// Errors of the Redis limiters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisLimitError {
    /// A key part is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The limit spec is invalid (the same checks as spillway-core).
    #[error("invalid limit: {0}")]
    Spec(#[from] SpecError),
    /// The limit spec is valid but uses an algorithm the Redis scripts do not implement.
    #[error(
        "algorithm {algorithm:?} is not available on Redis; use TokenBucket, SlidingLog or SlidingCounter"
    )]
    Unsupported {
        /// The algorithm asked for.
        algorithm: Algorithm,
    },
    /// A number is too large to be kept exact in Redis' Lua (doubles; see the crate docs).
    #[error("{what} is {value}, above the largest value kept exact on Redis ({max})")]
    OutOfRange {
        /// What the number is.
        what: &'static str,
        /// The value given.
        value: u128,
        /// The largest accepted.
        max: u128,
    },
    /// A single limiter can never admit this cost.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// A layered limiter can never admit this demand, or its layers are invalid.
    #[error(transparent)]
    Layered(#[from] LayeredError),
    /// A [`RedisConfig`](crate::RedisConfig) field is outside what the scripts can honour.
    #[error("RedisConfig.{field} is {value}; allowed: {allowed}")]
    InvalidConfig {
        /// The field's name.
        field: &'static str,
        /// The value given, as written by `Debug`.
        value: String,
        /// The allowed range.
        allowed: String,
    },
    /// The connection URL cannot be parsed (the URL is shown with its password redacted).
    #[error("invalid Redis URL {url}: {detail}")]
    InvalidUrl {
        /// The URL, redacted.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// Redis could not be reached when connecting.
    #[error("cannot reach Redis at {url}: {detail}")]
    Unreachable {
        /// The URL, redacted.
        url: String,
        /// The underlying error.
        detail: String,
    },
    /// Redis refused the credentials (wrong password or user, or a password is required).
    #[error("Redis at {url} refused authentication: {detail} (check the password in the config)")]
    Auth {
        /// The URL, redacted.
        url: String,
        /// The server's answer.
        detail: String,
    },
    /// The limiter script failed on the server (a bug, or a key of the wrong type).
    #[error("the limiter script failed on Redis: {detail}")]
    Script {
        /// The server's error.
        detail: String,
    },
    /// The script answered something this crate does not understand.
    #[error("unexpected reply from the limiter script: {detail}")]
    Reply {
        /// What was wrong.
        detail: String,
    },
    /// Another Redis error that no failure policy applies to.
    #[error("Redis error: {detail}")]
    Redis {
        /// The underlying error.
        detail: String,
    },
}
