//! A Redis outage under shared layers is a 503 naming the store, counted in
//! `spillway_rejected_total{layer="store_unavailable"}`: not a 429 that looks like clients
//! being rate limited by no layer.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use spillway_core::Duration;
use spillway_core::engine::{Engine, EngineConfig, NoSpend, RequestMeta, UpstreamConfig};
use spillway_core::limit::{Algorithm, Demand, LayerSpec, LimitSpec, Scope, Subject, Unit};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_gateway::{Runtime, ServeLayers, SharedLayers};
use spillway_testkit::redis_server::RedisProcess;

/// The queue's capacity and the calls on the wire of [`config`] (shared with other modules).
pub(crate) const QUEUE: usize = 1;
pub(crate) const IN_FLIGHT: u64 = 1;

pub(crate) fn config(max_requests: usize) -> EngineConfig {
    EngineConfig {
        max_in_flight: IN_FLIGHT,
        max_requests,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig {
            capacity: Some(QUEUE),
            ..SchedulerConfig::default()
        },
        upstream: UpstreamConfig::reactive(BackoffConfig::default()),
    }
}

/// The tokens layer's limit: one estimate of this size fills it.
pub(crate) const LIMIT: u64 = 300;

pub(crate) fn tokens_layer() -> Vec<LayerSpec> {
    vec![LayerSpec {
        name: "tokens".into(),
        scope: Scope::User,
        unit: Unit::Tokens,
        limit: LimitSpec {
            algorithm: Algorithm::TokenBucket,
            limit: LIMIT,
            window: Duration::from_secs(3600),
            burst: None,
        },
    }]
}

/// The gateway under test: `config`, `layers` (one named `tokens`), no spend, seeded RNGs.
pub(crate) fn start(
    config: EngineConfig,
    layers: ServeLayers,
) -> Runtime<(), ServeLayers, NoSpend, ChaCha8Rng> {
    let rng = || ChaCha8Rng::seed_from_u64(1);
    let engine = Engine::new(config, layers, NoSpend, rng(), rng()).expect("engine");
    Runtime::start(engine, vec!["tokens".into()])
}

pub(crate) fn meta(class: usize, tokens: u64) -> RequestMeta<()> {
    RequestMeta {
        user: 1,
        team: 0,
        feature: 0,
        class,
        input_tokens: tokens,
        output_estimate: 0,
        max_tokens: 0,
        payload: (),
    }
}

/// With `--redis` (always fail-closed in `serve`: build.rs uses `RedisConfig::new`), an
/// unreachable Redis makes the shared layers deny with no blocking layer. That refusal was a
/// 429 "Rate limit reached: blocked by layers ; retry after 1s" counted under no
/// `spillway_rejected_total` series (review11).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_is_a_503_naming_the_store_and_counted() {
    let Some(mut redis) = RedisProcess::start(&[], "a Redis outage's 503") else {
        return;
    };
    let store = spillway_redis::RedisStore::connect(spillway_redis::RedisConfig::new(redis.url()))
        .await
        .expect("redis");
    let shared = SharedLayers::new(
        spillway_redis::RedisLayered::new(&store, "review11b", tokens_layer()).expect("layers"),
    );
    let handle = shared.store();
    let rt = start(config(2), ServeLayers::Shared(shared));
    redis.kill();
    let subject = Subject {
        user: 1,
        team: 0,
        feature: 0,
        api_key: 0,
    };
    let demand = Demand {
        requests: 1,
        tokens: 1,
    };
    let verdict = handle.reserve(rt.now(), &subject, demand).await;
    let refusal = rt
        .admit_prepaid(meta(0, 1), Some(verdict), |_| {})
        .err()
        .expect("refused while Redis is down");
    let resp = spillway_gateway::headers::refused(&refusal, &["tokens".into()]);
    let metrics = rt.metrics_text();
    rt.close();
    eprintln!("status {} headers {:?}", resp.status(), resp.headers());
    let counted: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("spillway_rejected_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(
        counted, 1,
        "the outage refusal is counted somewhere:\n{metrics}"
    );
    assert!(
        metrics.contains("spillway_rejected_total{layer=\"store_unavailable\"} 1"),
        "{metrics}"
    );
    assert_eq!(
        resp.status(),
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "a store outage answered as a rate limit naming no layer"
    );
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(
        resp.headers()[spillway_gateway::headers::REJECTED_BY],
        "store_unavailable"
    );
}
