//! [`KeyRing::downtime`]: how long a service had no usable key in a span — the cost of a
//! rotation without overlap, computed from the ring alone (its answers are pure functions of
//! time, so the exact figure needs no simulation).

use super::ring::KeyRing;
use crate::time::{Duration, Time};

impl KeyRing {
    /// The total time within `[from, to)` during which no key of (`environment`, `service`)
    /// is usable (expired, revoked or not valid yet). Usability changes only at a key's
    /// `not_before`, `expires_at` or revocation, so the span is cut there and each piece is
    /// judged at its start.
    pub fn downtime(&self, from: Time, to: Time, environment: &str, service: &str) -> Duration {
        let keys: Vec<_> = self
            .iter()
            .filter(|k| k.environment == environment && k.service == service)
            .collect();
        let mut cuts: Vec<Time> = keys
            .iter()
            .flat_map(|k| [Some(k.not_before), Some(k.expires_at), k.revoked_at])
            .flatten()
            .filter(|t| from < *t && *t < to)
            .collect();
        cuts.push(from);
        cuts.push(to);
        cuts.sort_unstable();
        cuts.dedup();
        cuts.windows(2)
            .filter(|w| !keys.iter().any(|k| k.is_usable(w[0])))
            .fold(Duration::ZERO, |sum, w| {
                sum.saturating_add(w[1].saturating_since(w[0]))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyPolicy, KeyRole, KeySpec, SecretSource};

    fn spec(name: &str, not_before_s: u64, expires_s: u64) -> KeySpec {
        KeySpec {
            name: name.into(),
            environment: "e".into(),
            service: "s".into(),
            role: KeyRole::Primary,
            source: SecretSource::Env(name.into()),
            not_before: Time::from_secs(not_before_s),
            expires_at: Time::from_secs(expires_s),
            budget: None,
        }
    }

    #[test]
    fn gaps_between_keys_and_after_a_revocation_count_overlaps_do_not() {
        let mut ring = KeyRing::new(KeyPolicy::default());
        // A distinct secret per key (the ring refuses a secret shared by two keys).
        let secret = |s: &SecretSource| match s {
            SecretSource::Env(name) => Ok(format!("sk-test-{name}-{}", "x".repeat(32))),
            _ => Ok(String::new()),
        };
        let a = ring.add(spec("a", 0, 100), secret).expect("a");
        ring.add(spec("b", 130, 1_000), secret).expect("b");
        let (from, to) = (Time::ZERO, Time::from_secs(600));
        assert_eq!(ring.downtime(from, to, "e", "s"), Duration::from_secs(30));
        // Revoking `a` at 40 s adds 60 s of downtime; an unknown service is down throughout.
        ring.revoke(Time::from_secs(40), a).expect("known key");
        assert_eq!(ring.downtime(from, to, "e", "s"), Duration::from_secs(90));
        assert_eq!(
            ring.downtime(from, to, "e", "other"),
            Duration::from_secs(600)
        );
        // An overlapping key closes every gap.
        ring.add(spec("c", 0, 1_000), secret).expect("c");
        assert_eq!(ring.downtime(from, to, "e", "s"), Duration::ZERO);
    }
}
