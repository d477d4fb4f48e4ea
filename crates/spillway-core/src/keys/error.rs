//! Keys that cannot be loaded.

use super::secret::SecretError;

/// A key the ring refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Its secret could not be read.
    #[error("key `{key}`: {source}")]
    Secret {
        /// `environment/service/name`.
        key: String,
        /// Why.
        source: SecretError,
    },
    /// Two keys with one name in one (environment, service).
    #[error("key `{0}` is defined twice")]
    DuplicateName(String),
    /// Two keys with one secret: per-key budgets and revocation could not tell them apart.
    #[error("keys `{0}` and `{1}` have the same secret")]
    DuplicateSecret(String, String),
    /// Two names hash to one id (astronomically unlikely; rename one).
    #[error("keys `{0}` and `{1}` have the same id; rename one")]
    IdCollision(String, String),
    /// `not_before` is not before `expires_at`.
    #[error("key `{0}`: not_before must be before expires_at")]
    EmptyValidity(String),
    /// An id not in the ring.
    #[error("unknown key id {0}")]
    UnknownKey(u64),
}
