//! What a key is: [`KeySpec`] (as configured), [`KeyEntry`] (as held by the ring, secret
//! replaced by its hash), and its stable [`KeyId`].

use sha2::{Digest, Sha256};

use super::secret::{Secret, SecretSource};
use crate::budget::Period;
use crate::time::Time;

/// A key's stable id: the first 8 bytes of SHA-256 over `(environment, service, name)`.
///
/// Derived from names, not from the secret or config order, so it survives reordering the
/// config and is the same in every run; it is what the ledger's `ApiKey` caps and the limiter's
/// `Subject::api_key` use, so neither ever sees a secret.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u64);

impl KeyId {
    /// The id of the key `name` of `service` in `environment`.
    pub fn derive(environment: &str, service: &str, name: &str) -> Self {
        let mut h = Sha256::new();
        for part in ["spillway key id", environment, service, name] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let digest: [u8; 32] = h.finalize().into();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        KeyId(u64::from_be_bytes(first))
    }
}

/// Which key carries traffic when both are valid.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyRole {
    /// Preferred while valid and not rotating.
    Primary,
    /// Carries traffic while the primary rotates (and is typically budget-capped).
    Secondary,
}

/// A per-key spending cap (becomes a ledger cap on this key's id).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyBudget {
    /// When the spend resets.
    pub period: Period,
    /// The most this key may spend per period, nano-USD.
    pub limit_nano_usd: u64,
}

/// A key as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// Name, unique within (environment, service).
    pub name: String,
    /// e.g. `production`, `staging`.
    pub environment: String,
    /// The service using it.
    pub service: String,
    /// Primary or secondary.
    pub role: KeyRole,
    /// Where the secret is read from.
    pub source: SecretSource,
    /// First instant the key may carry traffic.
    pub not_before: Time,
    /// First instant it may not (exclusive end of validity).
    pub expires_at: Time,
    /// Optional spending cap.
    pub budget: Option<KeyBudget>,
}

/// A key held by a [`KeyRing`](super::KeyRing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEntry {
    /// Stable id.
    pub id: KeyId,
    /// Name.
    pub name: String,
    /// Environment.
    pub environment: String,
    /// Service.
    pub service: String,
    /// Role.
    pub role: KeyRole,
    /// Where the secret came from (a name or path, never the secret).
    pub source: SecretSource,
    /// Start of validity.
    pub not_before: Time,
    /// End of validity (exclusive).
    pub expires_at: Time,
    /// Spending cap.
    pub budget: Option<KeyBudget>,
    /// The secret as hash and redaction tail.
    pub secret: Secret,
    /// When it was (or will be) revoked.
    pub revoked_at: Option<Time>,
    /// When a rotation was started explicitly (traffic leaves it from then on).
    pub rotating_from: Option<Time>,
}

impl KeyEntry {
    /// `environment/service/name …last4`, safe to log.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/{} {}",
            self.environment,
            self.service,
            self.name,
            self.secret.redacted()
        )
    }
    /// Whether the key may carry traffic at `now`: valid and not revoked.
    pub fn is_usable(&self, now: Time) -> bool {
        self.not_before <= now && now < self.expires_at && self.revoked_at.is_none_or(|r| now < r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Debug` of a key, as configured and as held, redacts an `env:` "name" that is really
    /// a pasted secret (through its source's `Debug`), as `Display` does.
    #[test]
    fn debug_of_a_key_does_not_show_a_secret_pasted_as_its_env_name() {
        let pasted = "sk-proj-abcdefghijklmnop1234";
        let source = SecretSource::Env(pasted.into());
        let spec = KeySpec {
            name: "primary".into(),
            environment: "production".into(),
            service: "chat".into(),
            role: KeyRole::Primary,
            source: source.clone(),
            not_before: Time::ZERO,
            expires_at: Time::from_secs(60),
            budget: None,
        };
        let entry = KeyEntry {
            id: KeyId::derive("production", "chat", "primary"),
            name: spec.name.clone(),
            environment: spec.environment.clone(),
            service: spec.service.clone(),
            role: spec.role,
            source,
            not_before: spec.not_before,
            expires_at: spec.expires_at,
            budget: None,
            secret: Secret::new("sk-live-zyxwvutsrqponm9876", &spec.source).expect("a secret"),
            revoked_at: None,
            rotating_from: None,
        };
        for shown in [
            format!("{spec:?}"),
            format!("{entry:?}"),
            format!("{entry:#?}"),
        ] {
            assert!(
                !shown.contains("abcdefgh") && !shown.contains("zyxwv"),
                "{shown}"
            );
            assert!(shown.contains("…1234"), "{shown}");
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = KeyId::derive("production", "chat", "primary");
        assert_eq!(a, KeyId::derive("production", "chat", "primary"));
        assert_ne!(a, KeyId::derive("production", "chat", "secondary"));
        assert_ne!(
            a,
            KeyId::derive("productionchat", "", "primary"),
            "parts are separated"
        );
    }
}
