//! [`KeyRing::validate`]: the policy's findings (see [`policy`](super::policy) for which are
//! warnings and which errors).

use std::collections::BTreeMap;

use super::policy::{Finding, Problem, Severity};
use super::ring::KeyRing;
use crate::time::Time;

const NS_PER_DAY: u64 = 86_400_000_000_000;

impl KeyRing {
    /// Check the ring against its policy at `now`. Findings are ordered: per-service counts
    /// first (by environment, service), then per-key findings by key id.
    pub fn validate(&self, now: Time) -> Vec<Finding> {
        let policy = self.policy();
        let mut findings = Vec::new();
        let mut usable: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for k in self
            .iter()
            .filter(|k| k.environment == policy.production_environment)
        {
            *usable.entry((&k.environment, &k.service)).or_default() +=
                usize::from(k.is_usable(now));
        }
        for ((environment, service), count) in usable {
            if count < policy.min_production_keys {
                findings.push(Finding {
                    severity: policy.too_few_keys,
                    key: None,
                    problem: Problem::TooFewKeys {
                        environment: environment.into(),
                        service: service.into(),
                        usable: count,
                        needed: policy.min_production_keys,
                    },
                });
            }
        }
        let plan = self.rotation_schedule(now);
        for k in self.iter() {
            let label = k.label();
            let mut push = |severity, problem| {
                findings.push(Finding {
                    severity,
                    key: Some(k.id),
                    problem,
                })
            };
            if k.revoked_at.is_some_and(|r| r <= now) {
                push(Severity::Warning, Problem::Revoked { label });
                continue;
            }
            if now >= k.expires_at {
                push(
                    Severity::Warning,
                    Problem::Expired {
                        label,
                        expires_at: k.expires_at,
                    },
                );
                continue;
            }
            let lifetime = k.expires_at.saturating_since(k.not_before);
            if lifetime > policy.max_lifetime {
                let days = |ns: u64| ns / NS_PER_DAY;
                push(
                    policy.lifetime_too_long,
                    Problem::LifetimeTooLong {
                        label: label.clone(),
                        days: days(lifetime.as_nanos()),
                        max_days: days(policy.max_lifetime.as_nanos()),
                    },
                );
            }
            let horizon = now.saturating_add(policy.successor_horizon);
            let orphan = plan
                .iter()
                .find(|r| r.key == k.id && r.successor.is_none() && r.drain_from <= horizon);
            if let Some(r) = orphan {
                push(
                    Severity::Warning,
                    Problem::NoSuccessor {
                        label,
                        drain_from: r.drain_from,
                    },
                );
            }
        }
        findings
    }
}
