//! Key hygiene rules and their findings.
//!
//! | finding | default severity | why |
//! |---|---|---|
//! | fewer than `min_production_keys` (2) usable keys for a production service | **error** (configurable) | rotating the only key is downtime |
//! | a key valid longer than `max_lifetime` (90 days) | **error** (configurable) | forced expiry is what makes rotation actually happen |
//! | a key starting to drain within `successor_horizon` (14 days) with no other usable, non-draining key to take over | warning | traffic will stay on a draining key, then stop |
//! | a key already expired | warning | harmless, but dead config |
//! | a key revoked | warning | kept for the record; never selected |
//!
//! Structural problems (duplicate names or secrets, empty validity window) are errors at load
//! time ([`KeyError`](super::KeyError)), not findings.

use crate::time::{Duration, Time};

use super::spec::KeyId;

/// How serious a finding is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Worth fixing; the ring works.
    Warning,
    /// The configuration should be refused.
    Error,
}

/// The rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPolicy {
    /// The environment the minimum applies to.
    pub production_environment: String,
    /// Usable keys each production service needs (2: one rotates while the other works).
    pub min_production_keys: usize,
    /// Severity of having fewer.
    pub too_few_keys: Severity,
    /// Longest validity a key may have.
    pub max_lifetime: Duration,
    /// Severity of a longer one.
    pub lifetime_too_long: Severity,
    /// How long before expiry a key starts draining (traffic moves to another key).
    pub rotation_overlap: Duration,
    /// A missing successor is reported only for rotations starting within this span of `now`
    /// (the last key always lacks one until its replacement is configured).
    pub successor_horizon: Duration,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            production_environment: "production".into(),
            min_production_keys: 2,
            too_few_keys: Severity::Error,
            max_lifetime: Duration::from_secs(90 * 86_400),
            lifetime_too_long: Severity::Error,
            rotation_overlap: Duration::from_secs(7 * 86_400),
            successor_horizon: Duration::from_secs(14 * 86_400),
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A production service with too few usable keys.
    #[error(
        "{environment}/{service}: {usable} usable key(s), at least {needed} required so one can rotate while another serves"
    )]
    TooFewKeys {
        /// Environment.
        environment: String,
        /// Service.
        service: String,
        /// Usable keys now.
        usable: usize,
        /// The minimum.
        needed: usize,
    },
    /// A key valid for too long.
    #[error("key {label}: valid for {days} days, at most {max_days} allowed")]
    LifetimeTooLong {
        /// The key's redacted label.
        label: String,
        /// Its validity, whole days.
        days: u64,
        /// The maximum, whole days.
        max_days: u64,
    },
    /// No key to take over when this one drains.
    #[error(
        "key {label}: starts draining at {drain_from} with no other usable key to take its traffic"
    )]
    NoSuccessor {
        /// The key's redacted label.
        label: String,
        /// When it starts draining.
        drain_from: Time,
    },
    /// Already expired.
    #[error("key {label}: expired at {expires_at}")]
    Expired {
        /// The key's redacted label.
        label: String,
        /// When.
        expires_at: Time,
    },
    /// Revoked.
    #[error("key {label}: revoked")]
    Revoked {
        /// The key's redacted label.
        label: String,
    },
}

/// One finding of [`KeyRing::validate`](super::KeyRing::validate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// The key concerned, if one.
    pub key: Option<KeyId>,
    /// What.
    pub problem: Problem,
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
