//! [`KeyRing`]: keys per (environment, service), which one carries traffic now, rotation,
//! expiry, revocation, and per-key budgets as ledger caps.
//!
//! ## Selection
//! A key is *usable* from `not_before` until `expires_at` (exclusive) unless revoked. It is
//! *draining* from `expires_at − rotation_overlap`, or from an explicit
//! [`begin_rotation`](KeyRing::begin_rotation). Among usable keys the ring picks: a key that is
//! not draining over one that is; then the primary over the secondary; then the newest
//! (latest `not_before`); then the smaller id. Among draining keys only, the one that expires
//! last. So while the primary rotates, the secondary carries the traffic; when the new
//! primary becomes valid it takes over; nothing ever routes to an expired or revoked key.

use std::cmp::Reverse;

use super::error::KeyError;
use super::policy::KeyPolicy;
use super::secret::{Secret, SecretError, SecretSource};
use super::spec::{KeyEntry, KeyId, KeyRole, KeySpec};
use crate::budget::{CapSpec, CapTarget, OnExhausted};
use crate::limit::Scope;
use crate::time::Time;

/// Where a key is in its life at an instant.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    /// Not valid yet.
    Pending,
    /// Valid, may be preferred.
    Active,
    /// Valid but rotating out: passed over for an active key, except by a caller that prefers
    /// keys with room for a request (its budget: [`KeyRing::select_preferring`]), where a
    /// draining key with room comes before an active one without.
    Draining,
    /// Past `expires_at`.
    Expired,
    /// Revoked.
    Revoked,
}

/// A planned hand-over: from `drain_from` traffic leaves `key` for `successor`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rotation {
    /// The key rotating out.
    pub key: KeyId,
    /// When it starts draining.
    pub drain_from: Time,
    /// When it expires.
    pub expires_at: Time,
    /// The key that carries its traffic from `drain_from` (usable and not draining then), if
    /// any.
    pub successor: Option<KeyId>,
}

/// The keys, sorted by id.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: Vec<KeyEntry>,
    policy: KeyPolicy,
}

impl KeyRing {
    /// An empty ring under `policy`.
    pub fn new(policy: KeyPolicy) -> Self {
        KeyRing {
            keys: Vec::new(),
            policy,
        }
    }
    /// Load every key, reading secrets through `lookup`; every problem is reported. Policy
    /// findings are separate: see [`KeyRing::validate`].
    pub fn load(
        specs: Vec<KeySpec>,
        policy: KeyPolicy,
        lookup: impl Fn(&SecretSource) -> Result<String, SecretError>,
    ) -> Result<Self, Vec<KeyError>> {
        let mut ring = KeyRing::new(policy);
        let errors: Vec<KeyError> = specs
            .into_iter()
            .filter_map(|spec| ring.add(spec, &lookup).err())
            .collect();
        if errors.is_empty() {
            Ok(ring)
        } else {
            Err(errors)
        }
    }
    /// Add a key (a rotation bringing in its replacement).
    pub fn add(
        &mut self,
        spec: KeySpec,
        lookup: impl Fn(&SecretSource) -> Result<String, SecretError>,
    ) -> Result<KeyId, KeyError> {
        let path = format!("{}/{}/{}", spec.environment, spec.service, spec.name);
        let secret = Secret::load(&spec.source, lookup).map_err(|source| KeyError::Secret {
            key: path.clone(),
            source,
        })?;
        if spec.not_before >= spec.expires_at {
            return Err(KeyError::EmptyValidity(path));
        }
        let id = KeyId::derive(&spec.environment, &spec.service, &spec.name);
        for other in &self.keys {
            let other_path = format!("{}/{}/{}", other.environment, other.service, other.name);
            if other_path == path {
                return Err(KeyError::DuplicateName(path));
            }
            if other.id == id {
                return Err(KeyError::IdCollision(other_path, path));
            }
            if other.secret.hash() == secret.hash() {
                return Err(KeyError::DuplicateSecret(other_path, path));
            }
        }
        let entry = KeyEntry {
            id,
            name: spec.name,
            environment: spec.environment,
            service: spec.service,
            role: spec.role,
            source: spec.source,
            not_before: spec.not_before,
            expires_at: spec.expires_at,
            budget: spec.budget,
            secret,
            revoked_at: None,
            rotating_from: None,
        };
        let at = self.keys.partition_point(|k| k.id < id);
        self.keys.insert(at, entry);
        Ok(id)
    }
    /// The policy.
    pub fn policy(&self) -> &KeyPolicy {
        &self.policy
    }
    /// The key `id`.
    pub fn get(&self, id: KeyId) -> Option<&KeyEntry> {
        self.keys
            .binary_search_by_key(&id, |k| k.id)
            .ok()
            .map(|i| &self.keys[i])
    }
    /// Every key, by id.
    pub fn iter(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.iter()
    }
    /// Revoke `id` from `at` on (a leak): it is never selected again.
    pub fn revoke(&mut self, at: Time, id: KeyId) -> Result<(), KeyError> {
        let key = self.get_mut(id)?;
        key.revoked_at = Some(key.revoked_at.map_or(at, |r| r.min(at)));
        Ok(())
    }
    /// Start rotating `id` out at `at`: from then on it carries traffic only if no other key
    /// of its service is usable.
    pub fn begin_rotation(&mut self, at: Time, id: KeyId) -> Result<(), KeyError> {
        let key = self.get_mut(id)?;
        key.rotating_from = Some(key.rotating_from.map_or(at, |r| r.min(at)));
        Ok(())
    }
    /// When `key` starts draining: the earlier of an explicit rotation and
    /// `expires_at − rotation_overlap`.
    pub fn drain_from(&self, key: &KeyEntry) -> Time {
        let scheduled = key.expires_at.saturating_sub(self.policy.rotation_overlap);
        key.rotating_from.map_or(scheduled, |r| r.min(scheduled))
    }
    /// `id`'s status at `now` (`None` for an unknown id).
    pub fn status(&self, now: Time, id: KeyId) -> Option<KeyStatus> {
        let key = self.get(id)?;
        Some(if key.revoked_at.is_some_and(|r| r <= now) {
            KeyStatus::Revoked
        } else if now >= key.expires_at {
            KeyStatus::Expired
        } else if now < key.not_before {
            KeyStatus::Pending
        } else if now >= self.drain_from(key) {
            KeyStatus::Draining
        } else {
            KeyStatus::Active
        })
    }
    /// The key that carries a request of `service` in `environment` at `now` (see the module
    /// docs for the order), or `None` if no key is usable.
    pub fn select(&self, now: Time, environment: &str, service: &str) -> Option<KeyId> {
        self.pick(now, environment, service, |_| true, false)
    }
    /// [`Self::select`]'s choice among the keys `preferred` accepts (e.g. those whose own
    /// budget has room), in the same order; `select`'s when it accepts none of the usable
    /// keys. A preference, never a refusal.
    pub fn select_preferring(
        &self,
        now: Time,
        environment: &str,
        service: &str,
        preferred: impl Fn(KeyId) -> bool,
    ) -> Option<KeyId> {
        self.pick(now, environment, service, |k| preferred(k.id), false)
            .or_else(|| self.select(now, environment, service))
    }
    /// The preferred usable key of (`env`, `service`) at `now` among those `keep` accepts;
    /// `fresh_only` skips draining keys (a rotation's successor must not be rotating itself).
    fn pick(
        &self,
        now: Time,
        env: &str,
        service: &str,
        keep: impl Fn(&KeyEntry) -> bool,
        fresh_only: bool,
    ) -> Option<KeyId> {
        self.keys
            .iter()
            .filter(|k| k.environment == env && k.service == service && keep(k))
            .filter(|k| k.is_usable(now))
            .map(|k| (k, now >= self.drain_from(k)))
            .filter(|(_, draining)| !(fresh_only && *draining))
            .max_by_key(|(k, draining)| {
                let drain_expiry = if *draining { k.expires_at } else { Time::ZERO };
                (
                    !draining,
                    drain_expiry,
                    k.role == KeyRole::Primary,
                    k.not_before,
                    Reverse(k.id),
                )
            })
            .map(|(k, _)| k.id)
    }
    /// Every not-yet-expired, unrevoked key's hand-over, by drain time then id.
    pub fn rotation_schedule(&self, now: Time) -> Vec<Rotation> {
        let mut plan: Vec<Rotation> = self
            .keys
            .iter()
            .filter(|k| now < k.expires_at && k.revoked_at.is_none_or(|r| now < r))
            .map(|k| {
                let drain_from = self.drain_from(k).max(k.not_before);
                Rotation {
                    key: k.id,
                    drain_from,
                    expires_at: k.expires_at,
                    successor: self.pick(
                        drain_from,
                        &k.environment,
                        &k.service,
                        |other| other.id != k.id,
                        true,
                    ),
                }
            })
            .collect();
        plan.sort_by_key(|r| (r.drain_from, r.key));
        plan
    }
    /// Which key `presented` is (a leaked key found in the wild), compared as hashes.
    pub fn identify(&self, presented: &str) -> Option<KeyId> {
        self.keys
            .iter()
            .find(|k| k.secret.matches(presented))
            .map(|k| k.id)
    }
    /// Ledger caps for every key with a budget: scope `ApiKey`, only that key's id, rejecting
    /// at the limit (a leaked key's damage is capped). Named `key:<env>/<service>/<name>`.
    pub fn budget_caps(&self) -> Vec<CapSpec> {
        self.keys.iter().filter_map(budget_cap).collect()
    }
    /// The ledger cap of key `id`, if it has a budget (for a key added mid-run:
    /// `ledger.add_cap(now, cap)`).
    pub fn budget_cap(&self, id: KeyId) -> Option<CapSpec> {
        self.get(id).and_then(budget_cap)
    }
    fn get_mut(&mut self, id: KeyId) -> Result<&mut KeyEntry, KeyError> {
        match self.keys.binary_search_by_key(&id, |k| k.id) {
            Ok(i) => Ok(&mut self.keys[i]),
            Err(_) => Err(KeyError::UnknownKey(id.0)),
        }
    }
}

fn budget_cap(k: &KeyEntry) -> Option<CapSpec> {
    let budget = k.budget?;
    Some(CapSpec {
        name: format!("key:{}/{}/{}", k.environment, k.service, k.name),
        scope: Scope::ApiKey,
        target: CapTarget::Only(k.id.0),
        period: budget.period,
        limit_nano_usd: budget.limit_nano_usd,
        on_exhausted: OnExhausted::Reject,
    })
}
