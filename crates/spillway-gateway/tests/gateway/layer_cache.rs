//! Every provider's breaker open and a cache configured: the engine answers the request from
//! the cache, and the layer lets the inner service give that answer (it is told so in the
//! request's extensions) rather than a 502 the metrics contradict.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use spillway_core::Duration;
use spillway_core::engine::{Engine, EngineConfig, NoSpend, RequestMeta, UpstreamConfig};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::{BackoffConfig, BackoffStrategy, BreakerConfig};
use spillway_gateway::{Dispatched, GatewayLayer, Runtime, Upstream};
use std::sync::Arc;
use tower::ServiceExt;

type Rt = Runtime<(), Layered, NoSpend, ChaCha8Rng>;

/// One attempt per request; the first failure opens the breaker for an hour; every request
/// the providers cannot take is a cache hit.
fn runtime() -> Rt {
    let once = BackoffConfig::new(BackoffStrategy::None, Duration::ZERO, Duration::ZERO, 1);
    let mut upstream = UpstreamConfig::reactive(once.unwrap());
    upstream.breaker = Some(BreakerConfig::new(1, Duration::from_secs(3600), 1).unwrap());
    upstream.cache_hit_permille = 1000;
    let config = EngineConfig {
        max_in_flight: 4,
        max_requests: 100,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream,
    };
    let rng = || ChaCha8Rng::seed_from_u64(1);
    let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
    Runtime::start(
        Engine::new(config, layers, NoSpend, rng(), rng()).unwrap(),
        vec![],
    )
}

/// A provider that is down, with a cache in front of it: the service answers from its cache
/// when the engine says so, and fails otherwise.
async fn cached_or_down(req: Request<Body>) -> (StatusCode, &'static str) {
    match req.extensions().get::<Dispatched>() {
        Some(d) if d.upstream == Upstream::Cache => (StatusCode::OK, "cached"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "provider down"),
    }
}

#[tokio::test]
async fn a_request_the_engine_serves_from_cache_is_answered_by_the_inner_service() {
    let rt = runtime();
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
    let app = Router::new()
        .route("/", get(cached_or_down))
        .layer(GatewayLayer::new(rt.clone(), classify));
    let get_root = || Request::get("/").body(Body::empty()).unwrap();
    // The provider fails: the breaker opens.
    let failed = app.clone().oneshot(get_root()).await.unwrap();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let cached = app.oneshot(get_root()).await.unwrap();
    assert_eq!(cached.status(), StatusCode::OK);
    let body = axum::body::to_bytes(cached.into_body(), 1 << 16).await;
    assert_eq!(body.unwrap(), "cached");
    let metrics = rt.metrics_text();
    for line in [
        "spillway_departed_total{class=\"interactive\",how=\"completed\"} 1\n",
        "spillway_departed_total{class=\"interactive\",how=\"failed\"} 1\n",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
}
