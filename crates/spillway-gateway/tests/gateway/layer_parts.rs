//! What the layer's tests share: a started runtime of a given limiter, budget and upstream
//! handling, and routes behind the layer with every request one user's.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use spillway_core::engine::{Engine, EngineConfig, Limiter, RequestMeta, Spend, UpstreamConfig};
use spillway_core::schedule::SchedulerConfig;
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

/// `routes` behind the layer of `rt`; every request is user 1's, of class 0, 10 tokens in and
/// 10 out.
pub fn as_one_user<L, S>(rt: &Rt<L, S>, routes: Router) -> Router
where
    L: Limiter<Placement: Send> + Rooms + Send + 'static,
    S: Spend<()> + Send + 'static,
{
    let classify = Arc::new(|_: &Request<Body>| {
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
    });
    routes.layer(GatewayLayer::new(rt.clone(), classify))
}
