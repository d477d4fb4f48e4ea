//! A scenario's policy turned into an engine for real time: the same layers, scheduler and
//! upstream policy the simulator runs, with class deadlines from `classes:`.

use super::budget::ServeGate;
use super::load::Served;
use super::shared_budget::SharedBudget;
use rand_chacha::ChaCha8Rng;
use spillway_core::engine::{Engine, EngineConfig, UpstreamConfig};
use spillway_core::limit::Layered;
use spillway_core::policy::PolicySpec;
use spillway_gateway::{ServeLayers, SharedLayers, SharedStore};
use spillway_redis::{RedisBudget, RedisLimitError, RedisStore};
use spillway_sim::rng::{Concern, stream};

/// The policy named `name`, else the first; the error lists the names.
pub fn pick<'a>(file: &'a Served, name: Option<&str>) -> Result<&'a PolicySpec, String> {
    let names = || {
        file.policies
            .iter()
            .map(|p| format!("`{}`", p.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        None => file
            .policies
            .first()
            .ok_or_else(|| "the policy file declares no policy".to_string()),
        Some(n) => {
            file.policies.iter().find(|p| p.name == n).ok_or_else(|| {
                format!("--name: no policy is named `{n}`; the file has {}", names())
            })
        }
    }
}

/// The engine `serve` runs: no driver payload, the policy's layers, its budget (`None`: the
/// policy has no `budget:`).
pub type ServeEngine = Engine<(), ServeLayers, Option<ServeGate>, ChaCha8Rng>;

/// Why an engine cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The layers.
    #[error("policy `{0}`: {1}")]
    Layers(String, spillway_core::limit::LayeredError),
    /// The scheduler.
    #[error("policy `{0}`: {1}")]
    Scheduler(String, spillway_core::schedule::ConfigError),
    /// The budget.
    #[error("policy `{0}`: budget: {1}")]
    Budget(String, spillway_core::budget::BudgetError),
    /// The Redis side of the layers.
    #[error("policy `{0}` on --redis: {1}")]
    Redis(String, spillway_redis::RedisLimitError),
}

/// The policy's upstream handling as `serve` can honour it. `serve` keeps no response cache,
/// and `cache_hit_pct` is the simulator's model of one: it is set aside here (and said at start:
/// [`cache_note`]), so a request the simulation would answer from the cache fails here as it
/// would with no cache, and the engine's counts agree with the answer the client gets (counted
/// as served from a cache, it was answered 502).
fn served_upstream(policy: &PolicySpec) -> UpstreamConfig {
    UpstreamConfig {
        cache_hit_permille: 0,
        ..policy.upstream.clone()
    }
}

/// What `serve` says at start when `policy` models a cache it does not keep.
pub fn cache_note(policy: &PolicySpec) -> Option<String> {
    let permille = policy.upstream.cache_hit_permille;
    (permille > 0).then(|| {
        format!(
            "spillway serve: policy `{}`: upstream.cache_hit_pct {} is set aside: serve keeps no \
             response cache (the simulator models one), so a request the simulation answers from \
             the cache fails here as with no cache\n",
            policy.name,
            permille / 10
        )
    })
}

/// The Redis every replica of `policy` shares (`--redis URL`), if any, answering by
/// `failure` (the policy and the replicas it divides limits by) while it is unreachable.
pub async fn connect(
    policy: &PolicySpec,
    redis: Option<&str>,
    (failure_policy, replicas): (spillway_redis::FailurePolicy, u64),
) -> Result<Option<RedisStore>, BuildError> {
    let Some(url) = redis else {
        return Ok(None);
    };
    let config = spillway_redis::RedisConfig {
        failure_policy,
        replicas,
        ..spillway_redis::RedisConfig::new(url)
    };
    let mut waited = std::time::Duration::ZERO;
    loop {
        match RedisStore::connect(config.clone()).await {
            Err(RedisLimitError::Unreachable { .. }) if waited < REDIS_START_WAIT => {
                tokio::time::sleep(REDIS_RETRY_PAUSE).await;
                waited += REDIS_RETRY_PAUSE;
            }
            connected => {
                return connected
                    .map(Some)
                    .map_err(|e| BuildError::Redis(policy.name.clone(), e));
            }
        }
    }
}

/// How long `serve` keeps trying an unreachable Redis at start before it gives up. A gateway
/// is often started beside its Redis (compose, Kubernetes), and on a busy machine the first
/// connection can take longer than the per-call connect timeout (100 ms), which is sized for
/// requests in flight, not for start-up. A wrong password or a Redis without `FUNCTION` fails
/// at once.
const REDIS_START_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The pause between start-up attempts.
const REDIS_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// The policy's layers in `redis` (shared by every replica serving the same policy name), or
/// in this process.
pub fn layers(
    policy: &PolicySpec,
    redis: Option<&RedisStore>,
) -> Result<(ServeLayers, Option<SharedStore>), BuildError> {
    let fail = |e| BuildError::Redis(policy.name.clone(), e);
    let Some(store) = redis else {
        let local = Layered::new(policy.layers.clone())
            .map_err(|e| BuildError::Layers(policy.name.clone(), e))?;
        return Ok((ServeLayers::Local(local), None));
    };
    let redis = spillway_redis::RedisLayered::new(store, &policy.name, policy.layers.clone())
        .map_err(fail)?;
    let shared = SharedLayers::new(redis);
    let handle = shared.store();
    Ok((ServeLayers::Shared(shared), Some(handle)))
}

/// The engine of `policy` and its layer names (its budget shared through `redis` if given);
/// jitter draws are seeded by the file's seed, one stream per concern, like the simulator's.
///
/// The bound on requests inside is the queue's capacity plus the calls in flight: each one
/// holds a connection and its body here, so memory stays bounded under any load. It does not
/// change whom the queue serves: at the bound an arrival takes the place of the less urgent
/// queued request the queue would shed for it (as in the simulator, which has no bound), and
/// only an arrival that outranks nothing queued is refused (503). Where the two still differ:
/// when calls waiting outside the queue (a retry's backoff, a budget hold) fill the bound,
/// such an arrival is refused here where the simulator would queue it.
pub fn engine(
    file: &Served,
    policy: &PolicySpec,
    layers: ServeLayers,
    start: spillway_core::Time,
    redis: Option<&RedisStore>,
) -> Result<(ServeEngine, Vec<String>), BuildError> {
    let names = policy.layers.iter().map(|l| l.name.clone()).collect();
    let in_flight = usize::try_from(policy.max_in_flight).unwrap_or(usize::MAX);
    let config = EngineConfig {
        max_in_flight: policy.max_in_flight,
        max_requests: policy.queue_capacity.saturating_add(in_flight),
        deadlines: file.deadlines.clone(),
        scheduler: policy.scheduler.clone(),
        upstream: served_upstream(policy),
    };
    let seed = file.seed;
    let mut gate = super::budget::gate(file.budget.as_ref(), policy, start)
        .map_err(|e| BuildError::Budget(policy.name.clone(), e))?;
    // Under --redis the budget is shared too: the same policy name, the same caps.
    if let (Some(gate), Some(store)) = (gate.as_mut(), redis) {
        let shared = RedisBudget::new(store, &policy.name, &gate.cap_names())
            .map_err(|e| BuildError::Redis(policy.name.clone(), e))?;
        gate.share(SharedBudget::new(shared, store.config().dedupe_ttl));
    }
    let engine = Engine::new(
        config,
        layers,
        gate,
        stream(seed, Concern::Jitter, 0),
        stream(seed, Concern::Jitter, 1),
    )
    .map_err(|e| BuildError::Scheduler(policy.name.clone(), e))?;
    Ok((engine, names))
}
