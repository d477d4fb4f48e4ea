//! Every provider's breaker open and a cache configured: the engine answers the request from
//! the cache, and the layer lets the inner service give that answer (it is told so in the
//! request's extensions) rather than a 502 the metrics contradict.

use super::layer_parts::{Rt, as_one_user};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use spillway_core::Duration;
use spillway_core::engine::{NoSpend, UpstreamConfig};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::upstream::{BackoffConfig, BackoffStrategy, BreakerConfig};
use spillway_gateway::{Dispatched, Upstream};
use tower::ServiceExt;

/// One attempt per request; the first failure opens the breaker for an hour; every request
/// the providers cannot take is a cache hit.
fn runtime() -> Rt<Layered, NoSpend> {
    let once = BackoffConfig::new(BackoffStrategy::None, Duration::ZERO, Duration::ZERO, 1);
    let mut upstream = UpstreamConfig::reactive(once.unwrap());
    upstream.breaker = Some(BreakerConfig::new(1, Duration::from_secs(3600), 1).unwrap());
    upstream.cache_hit_permille = 1000;
    let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
    super::layer_parts::start(layers, NoSpend, upstream, &[])
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
    let app = as_one_user(&rt, Router::new().route("/", get(cached_or_down)));
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
