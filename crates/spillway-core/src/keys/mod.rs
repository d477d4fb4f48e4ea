//! API keys for upstream providers: per environment and service, rotated with overlap, expiring,
//! revocable, budget-capped, and never printed.
//!
//! The seed's three pillars: **rotation** (two keys per production service so one serves while
//! the other rotates; at most 90 days of validity), **scoping** (keys per environment and
//! service; per-key budgets, e.g. the secondary production key at $20/day, so a leak's damage
//! is capped), **tracking** (a stable [`KeyId`] that flows into the ledger's `ApiKey` caps and
//! the limiter's `Subject::api_key`).
//!
//! ## Design decisions
//! - **Secrets come only from environment variables or files** ([`SecretSource`]); loading
//!   takes a lookup function, so tests and the simulator never touch the real environment.
//! - **Only a hash is kept** ([`Secret`]): SHA-256 for comparison (identifying a leaked key),
//!   plus at most the last four characters for display ([`Redacted`]: `…ab12`; nothing for
//!   secrets under 12 characters). No type in this module can print more.
//! - **Selection is a pure function of `now`** ([`KeyRing::select`]): the same configuration
//!   and instant always pick the same key, and the rotation schedule can be listed ahead.
//! - **Findings, not panics**: policy violations are listed with a severity
//!   ([`KeyRing::validate`]; table in [`policy`]), structural problems refuse the key
//!   ([`KeyError`]).

mod downtime;
mod error;
pub mod policy;
mod ring;
mod secret;
mod spec;
mod validate;

pub use error::KeyError;
pub use policy::{Finding, KeyPolicy, Problem, Severity, has_errors};
pub use ring::{KeyRing, KeyStatus, Rotation};
pub use secret::{
    MIN_LEN_TO_SHOW_LAST4, Redacted, Secret, SecretError, SecretHash, SecretSource, checked_secret,
    looks_like_env_name, process_lookup, redact, shown_source_name,
};
pub use spec::{KeyBudget, KeyEntry, KeyId, KeyRole, KeySpec};
