//! What the layer's tests share: a started runtime of a given limiter, budget and upstream
//! handling, and routes behind the layer with every request one user's.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use spillway_core::Duration;
use spillway_core::engine::{Engine, EngineConfig, Limiter, RequestMeta, Spend, UpstreamConfig};
use spillway_core::limit::{Algorithm, LayerSpec, LimitSpec, Scope, Unit};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::{BackoffConfig, BackoffStrategy, BreakerConfig};
use spillway_gateway::headers::Rooms;
use spillway_gateway::{GatewayLayer, Runtime};
use std::sync::Arc;

/// A runtime of the layer's tests.
pub type Rt<L, S> = Runtime<(), L, S, ChaCha8Rng>;

/// A runtime: 4 calls in flight, 100 requests inside, no deadlines, the default queue, and
/// `upstream`'s handling; `layer_names` label refusals in the metrics.
pub fn start<L, S>(limiter: L, spend: S, upstream: UpstreamConfig, layer_names: &[&str]) -> Rt<L, S>
where
    L: Limiter<Placement: Send> + Send + 'static,
    S: Spend<()> + Send + 'static,
{
    let config = EngineConfig {
        max_in_flight: 4,
        max_requests: 100,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream,
    };
    let rng = || ChaCha8Rng::seed_from_u64(1);
    let engine = Engine::new(config, limiter, spend, rng(), rng()).unwrap();
    Runtime::start(engine, layer_names.iter().map(|&n| n.into()).collect())
}

/// How a request is classified by the layer's tests.
pub type Classify =
    dyn Fn(&Request<Body>) -> Result<RequestMeta<()>, Box<Response<Body>>> + Send + Sync;

/// Every request user 1's, of class 0, 10 tokens in and 10 out.
pub fn one_user() -> Arc<Classify> {
    Arc::new(|_: &Request<Body>| {
        Ok(RequestMeta {
            user: 1,
            team: 0,
            feature: 0,
            class: 0,
            input_tokens: 10,
            output_estimate: 10,
            max_tokens: 10,
            payload: (),
        })
    })
}

/// `routes` behind the layer of `rt`, every request [`one_user`]'s.
pub fn as_one_user<L, S>(rt: &Rt<L, S>, routes: Router) -> Router
where
    L: Limiter<Placement: Send> + Rooms + Send + 'static,
    S: Spend<()> + Send + 'static,
{
    routes.layer(GatewayLayer::new(rt.clone(), one_user()))
}

/// `service` behind the layer of `rt`, every request [`one_user`]'s.
pub fn layered<Svc, L, S>(
    rt: &Rt<L, S>,
    service: Svc,
) -> spillway_gateway::GatewayService<Svc, (), L, S, ChaCha8Rng>
where
    L: Limiter,
{
    tower::Layer::layer(&GatewayLayer::new(rt.clone(), one_user()), service)
}

/// A fallback provider; a provider's first failure opens its breaker for an hour, so a retry
/// (1 ms later; 2 attempts at most) goes to the other; `cache_hit_permille` of answers in the
/// cache once both are open.
pub fn failing_over(cache_hit_permille: u64) -> UpstreamConfig {
    let backoff = BackoffConfig::new(
        BackoffStrategy::Constant,
        Duration::from_millis(1),
        Duration::from_millis(1),
        2,
    );
    let mut upstream = UpstreamConfig::reactive(backoff.expect("a valid backoff"));
    upstream.breaker = BreakerConfig::new(1, Duration::from_secs(3600), 1).ok();
    upstream.fallback = true;
    upstream.cache_hit_permille = cache_hit_permille;
    upstream
}

/// A layer named `per-key` giving each upstream key 3 requests an hour.
pub fn three_requests_a_key_an_hour() -> LayerSpec {
    LayerSpec {
        name: "per-key".into(),
        scope: Scope::ApiKey,
        unit: Unit::Requests,
        limit: LimitSpec {
            algorithm: Algorithm::FixedWindow,
            limit: 3,
            window: Duration::from_secs(3600),
            burst: None,
        },
    }
}
