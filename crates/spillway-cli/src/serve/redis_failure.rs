//! `--redis-failure`: what the shared layers answer while their Redis does not (a refused
//! connection, no reply within the response timeout). The choice is the operator's: a limit
//! exceeded during an outage against a gateway that refuses everything. The shared budget is
//! not affected: money spent blind cannot be taken back, so it always fails closed.

use clap::ValueEnum;
use spillway_redis::FailurePolicy;

/// The choice, named after [`FailurePolicy`]'s variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RedisFailure {
    /// Refuse every request with 503 `store_unavailable` until Redis answers again.
    Closed,
    /// Admit without the shared limit: each replica limits alone at the whole limit (N
    /// replicas may admit N times it) until Redis answers again.
    Open,
    /// Each replica limits alone at its share, 1/N of every layer (N = --redis-replicas), so
    /// that the fleet stays near the shared limit.
    Local,
}

impl RedisFailure {
    /// Refuses a replica count the choice would ignore: only `local` divides by it, and an
    /// operator who sets it under `open` or `closed` expects a division that never happens.
    pub fn check_replicas(self, replicas: u64) -> Result<(), String> {
        if replicas == 1 || self == RedisFailure::Local {
            return Ok(());
        }
        let name = format!("{self:?}").to_lowercase();
        Err(format!(
            "--redis-replicas {replicas}: only --redis-failure local divides the limits among \
             replicas; with --redis-failure {name} it would do nothing (drop it, or add \
             --redis-failure local)"
        ))
    }

    /// The library's policy and the replica count it divides limits by, for `replicas`
    /// replicas (`--redis-replicas`, at least 1).
    pub fn policy(self, replicas: u64) -> (FailurePolicy, u64) {
        match self {
            RedisFailure::Closed => (
                FailurePolicy::FailClosed {
                    retry_after: spillway_core::Duration::from_secs(1),
                },
                1,
            ),
            // `FailOpen` limits each replica at `limit / replicas`: 1 keeps the whole limit.
            RedisFailure::Open => (FailurePolicy::FailOpen, 1),
            RedisFailure::Local => {
                let instances = replicas.max(1);
                (FailurePolicy::LocalFallback { instances }, instances)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_is_the_librarys_default() {
        let config = spillway_redis::RedisConfig::new("redis://x");
        let (policy, replicas) = RedisFailure::Closed.policy(3);
        assert_eq!((policy, replicas), (config.failure_policy, config.replicas));
    }

    #[test]
    fn a_replica_count_is_refused_where_it_would_do_nothing() {
        assert!(RedisFailure::Local.check_replicas(3).is_ok());
        assert!(RedisFailure::Open.check_replicas(1).is_ok());
        let refused = RedisFailure::Open.check_replicas(3).unwrap_err();
        assert!(refused.contains("--redis-failure open"), "{refused}");
        assert!(RedisFailure::Closed.check_replicas(2).is_err());
    }

    #[test]
    fn only_local_divides_the_limit_among_replicas() {
        assert_eq!(RedisFailure::Open.policy(3), (FailurePolicy::FailOpen, 1));
        assert_eq!(
            RedisFailure::Local.policy(3),
            (FailurePolicy::LocalFallback { instances: 3 }, 3)
        );
    }
}
