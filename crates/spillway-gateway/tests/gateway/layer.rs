//! The tower layer in front of an axum router: refusals, the queue's wait, the headers.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use spillway_core::Duration;
use spillway_core::engine::{Engine, EngineConfig, NoSpend, RequestMeta, UpstreamConfig};
use spillway_core::limit::{Algorithm, LayerSpec, Layered, LimitSpec, Scope, Unit};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_gateway::{GatewayLayer, Runtime};
use std::sync::Arc;
use tower::ServiceExt;

type Rt = Runtime<(), Layered, NoSpend, ChaCha8Rng>;

fn runtime(per_user: u64, max_in_flight: u64) -> Rt {
    let layers = Layered::new(vec![LayerSpec {
        name: "per-user".into(),
        scope: Scope::User,
        unit: Unit::Requests,
        limit: LimitSpec {
            algorithm: Algorithm::FixedWindow,
            limit: per_user,
            window: Duration::from_secs(3600),
            burst: None,
        },
    }])
    .unwrap();
    let config = EngineConfig {
        max_in_flight,
        max_requests: 10_000,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream: UpstreamConfig::reactive(BackoffConfig::default()),
    };
    let rng = || ChaCha8Rng::seed_from_u64(1);
    let engine = Engine::new(config, layers, NoSpend, rng(), rng()).unwrap();
    Runtime::start(engine, vec!["per-user".into()])
}

fn header(req: &Request<Body>, name: &str) -> u64 {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0)
}

fn router(rt: &Rt) -> Router {
    router_with(rt, Arc::default())
}

/// `routes` behind the layer, each request described by its `x-user` and `x-class` headers.
fn gated(rt: &Rt, routes: Router) -> Router {
    let classify = Arc::new(|req: &Request<Body>| {
        Ok(RequestMeta {
            user: header(req, "x-user"),
            team: 0,
            feature: 0,
            class: header(req, "x-class") as usize,
            input_tokens: 10,
            output_estimate: 10,
            max_tokens: 10,
            payload: (),
        })
    });
    routes.layer(GatewayLayer::new(rt.clone(), classify))
}

/// The router; its handler appends each served request's user to `served`.
fn router_with(rt: &Rt, served: Arc<std::sync::Mutex<Vec<u64>>>) -> Router {
    let handler = move |req: Request<Body>| {
        let served = served.clone();
        async move {
            served.lock().unwrap().push(header(&req, "x-user"));
            "hello"
        }
    };
    gated(rt, Router::new().route("/", get(handler)))
}

fn get_as(user: u64) -> Request<Body> {
    Request::get("/")
        .header("x-user", user.to_string())
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn the_layer_admits_exactly_the_limit_and_names_the_blocking_layer() {
    let rt = runtime(3, 8);
    let app = router(&rt);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let resp = app.clone().oneshot(get_as(7)).await.unwrap();
        statuses.push(resp.status());
        let remaining = resp.headers()["x-ratelimit-remaining-requests"].clone();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(remaining, "0");
            assert!(resp.headers().contains_key("retry-after"));
            let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
                .await
                .unwrap();
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains("per-user"), "{text}");
        } else {
            // Reading the body to its end completes the call.
            axum::body::to_bytes(resp.into_body(), 1 << 16)
                .await
                .unwrap();
        }
    }
    use StatusCode as S;
    assert_eq!(
        statuses,
        [
            S::OK,
            S::OK,
            S::OK,
            S::TOO_MANY_REQUESTS,
            S::TOO_MANY_REQUESTS
        ]
    );
    // Another user has their own allowance.
    assert_eq!(app.oneshot(get_as(8)).await.unwrap().status(), S::OK);
    let metrics = rt.metrics_text();
    assert!(
        metrics.contains("spillway_rejected_total{layer=\"per-user\"} 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("spillway_departed_total{class=\"interactive\",how=\"completed\"} 3\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_dropped_response_body_releases_the_call() {
    let rt = runtime(100, 1);
    let app = router(&rt);
    let resp = app.clone().oneshot(get_as(1)).await.unwrap();
    assert_eq!(rt.with_state(|s, _| s.engine.in_flight()), 1);
    // With one call allowed in flight, a second request waits in the queue...
    let waiting = tokio::spawn(app.clone().oneshot(get_as(2)));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    // ...until the first client goes away without reading its body.
    drop(resp);
    let second = waiting.await.unwrap().unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    drop(second);
    assert_eq!(
        rt.with_state(|s, _| (s.engine.len(), s.engine.in_flight())),
        (0, 0)
    );
}

#[tokio::test]
async fn the_queue_waits_and_serves_interactive_before_batch() {
    let rt = runtime(100, 1);
    let served = Arc::default();
    let app = router_with(&rt, Arc::clone(&served));
    let with_class = |user: u64, class: u64| {
        Request::get("/")
            .header("x-user", user.to_string())
            .header("x-class", class.to_string())
            .body(Body::empty())
            .unwrap()
    };
    // The one call allowed in flight, held open by its unread body.
    let first = app.clone().oneshot(with_class(1, 3)).await.unwrap();
    let batch = tokio::spawn(app.clone().oneshot(with_class(2, 2)));
    let queued = || rt.with_state(|s, _| (s.engine.queued_in(0), s.engine.queued_in(2)));
    while queued() != (0, 1) {
        tokio::task::yield_now().await;
    }
    let interactive = tokio::spawn(app.clone().oneshot(with_class(3, 0)));
    while queued() != (1, 1) {
        tokio::task::yield_now().await;
    }
    drop(first);
    // Each response is dropped as soon as it arrives, freeing the slot for the next.
    drop(interactive.await.unwrap().unwrap());
    drop(batch.await.unwrap().unwrap());
    assert_eq!(
        *served.lock().unwrap(),
        [1, 3, 2],
        "interactive (3) before batch (2)"
    );
}

/// The layer cannot send a request again (its body went to the inner service), so a refused
/// answer ends it as `spillway serve` ends one it gives up on: Failed, the answer passed back.
/// Before, the engine scheduled a retry nobody would make and the dropped call counted as
/// abandoned (its client gone).
#[tokio::test]
async fn an_upstream_refusal_is_passed_back_and_counts_as_failed() {
    let rt = runtime(100, 8);
    let busy = || async { (StatusCode::TOO_MANY_REQUESTS, "slow down") };
    let app = gated(&rt, Router::new().route("/", get(busy)));
    let resp = app.oneshot(get_as(1)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        rt.with_state(|s, _| s.engine.len()),
        0,
        "nothing left inside"
    );
    let metrics = rt.metrics_text();
    assert!(
        metrics.contains("spillway_departed_total{class=\"interactive\",how=\"failed\"} 1\n"),
        "{metrics}"
    );
}
