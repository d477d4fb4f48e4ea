//! The tower layer in front of a real budget gate: the key it admits with and the model it
//! sends with reach the headers and the inner service.

use super::budget_gate::{self, CHEAP};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use spillway_core::engine::{SpendGate, UpstreamConfig};
use spillway_core::limit::Layered;
use spillway_core::upstream::{BackoffConfig, Target};
use spillway_gateway::{Dispatched, Upstream};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

type Rt = super::layer_parts::Rt<Layered, SpendGate>;

/// A gateway whose one layer gives each upstream key 3 requests an hour.
fn runtime(degrade: bool) -> Rt {
    let per_key = super::layer_parts::three_requests_a_key_an_hour();
    let layers = Layered::new(vec![per_key]).unwrap();
    let reactive = UpstreamConfig::reactive(BackoffConfig::default());
    super::layer_parts::start(layers, budget_gate::gate(degrade), reactive, &["per-key"])
}

/// `handler` at `/` behind the layer.
fn app<H, T>(rt: &Rt, handler: H) -> Router
where
    H: axum::handler::Handler<T, ()>,
    T: 'static,
{
    super::layer_parts::as_one_user(rt, Router::new().route("/", get(handler)))
}

fn get_root() -> Request<Body> {
    Request::get("/").body(Body::empty()).unwrap()
}

/// Before: the headers read the bucket of key 0, which no request ever charges (the engine
/// keys on the budget's key), so they showed a full allowance however much was used.
#[tokio::test]
async fn the_rate_limit_headers_show_the_bucket_of_the_key_that_admitted() {
    let rt = runtime(false);
    let app = app(&rt, || async { "hello" });
    let resp = app.clone().oneshot(get_root()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-ratelimit-limit-requests"], "3");
    assert_eq!(resp.headers()["x-ratelimit-remaining-requests"], "2");
    axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    let room = rt.with_state(|s, now| {
        let subject = spillway_core::limit::Subject {
            user: 1,
            team: 0,
            feature: 0,
            api_key: budget_gate::key_id(),
        };
        s.engine.limiter().room(now, &subject)[0].remaining
    });
    assert_eq!(room, 2, "the engine charged the key's bucket");
}

/// What the inner service was told for one request through the layer.
async fn dispatched(degrade: bool) -> Option<Dispatched> {
    let rt = runtime(degrade);
    let seen = Arc::new(Mutex::new(None));
    let record = {
        let seen = seen.clone();
        move |req: Request<Body>| async move {
            *seen.lock().unwrap() = req.extensions().get::<Dispatched>().copied();
            "hello"
        }
    };
    let resp = app(&rt, record).oneshot(get_root()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    *seen.lock().unwrap()
}

/// Before: nothing told the inner service that the budget degraded the request, so it called
/// the model asked for while the budget booked the cheaper one.
#[tokio::test]
async fn a_degraded_request_tells_the_inner_service_its_model_and_provider() {
    let expected = Dispatched {
        upstream: Upstream::Provider(Target::Primary),
        model: Some(CHEAP),
        api_key: Some(budget_gate::key_id()),
    };
    assert_eq!(dispatched(true).await, Some(expected));
}

#[tokio::test]
async fn a_request_on_the_model_asked_for_names_no_model() {
    let expected = Dispatched {
        upstream: Upstream::Provider(Target::Primary),
        model: None,
        api_key: Some(budget_gate::key_id()),
    };
    assert_eq!(dispatched(false).await, Some(expected));
}
