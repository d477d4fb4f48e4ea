//! An upstream that refuses the primary's key (401) while a fallback with a key of its own
//! exists: the engine retries the request there whatever the answer says, so the layer sends
//! it again, body and all, and the request is one request that completed on the fallback.

use super::layer_parts::{Rt, as_one_user};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use spillway_core::engine::NoSpend;
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::upstream::Target;
use spillway_gateway::{Dispatched, Upstream};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

fn runtime() -> Rt<Layered, NoSpend> {
    let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
    super::layer_parts::start(layers, NoSpend, super::layer_parts::failing_over(0), &[])
}

/// Each call the service got: where the engine sent it, and the body it read.
type Calls = Arc<Mutex<Vec<(Option<Upstream>, String)>>>;

/// A service whose primary key is refused (401), and the fallback's too unless `fallback_works`.
fn refusing_the_primary_key(calls: Calls, fallback_works: bool) -> Router {
    let handler = move |req: Request<Body>| {
        let calls = calls.clone();
        async move {
            let to = req.extensions().get::<Dispatched>().map(|d| d.upstream);
            let body = axum::body::to_bytes(req.into_body(), 1 << 16).await;
            let body = String::from_utf8_lossy(&body.unwrap_or_default()).into_owned();
            calls.lock().unwrap().push((to, body));
            match to {
                Some(Upstream::Provider(Target::Fallback)) if fallback_works => {
                    (StatusCode::OK, "answered")
                }
                Some(Upstream::Provider(Target::Fallback)) => {
                    (StatusCode::FORBIDDEN, "fallback key refused")
                }
                _ => (StatusCode::UNAUTHORIZED, "invalid api key"),
            }
        }
    };
    Router::new().route("/", post(handler))
}

/// Before: the layer passed the 401 back, the engine's retry waited for a send nobody made,
/// and the dropped call counted the request abandoned (its client "gone").
#[tokio::test]
async fn a_refused_key_is_sent_again_on_the_fallback_and_counts_once_completed() {
    let rt = runtime();
    let calls = Calls::default();
    let app = as_one_user(&rt, refusing_the_primary_key(calls.clone(), true));
    let prompt = Request::post("/").body(Body::from("the prompt")).unwrap();
    let resp = app.oneshot(prompt).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await;
    assert_eq!(body.unwrap(), "answered");
    let primary = Upstream::Provider(Target::Primary);
    let fallback = Upstream::Provider(Target::Fallback);
    assert_eq!(
        *calls.lock().unwrap(),
        [
            (Some(primary), "the prompt".to_string()),
            (Some(fallback), "the prompt".to_string()),
        ],
        "the retry carries the same body, to the fallback"
    );
    assert_eq!(
        rt.with_state(|s, _| s.engine.len()),
        0,
        "nothing left inside"
    );
    let metrics = rt.metrics_text();
    for line in [
        "spillway_departed_total{class=\"interactive\",how=\"completed\"} 1\n",
        "spillway_departed_total{class=\"interactive\",how=\"failed\"} 0\n",
        "spillway_departed_total{class=\"interactive\",how=\"abandoned\"} 0\n",
        // The refused attempt is an upstream failure of the primary's key: its breaker open.
        "spillway_upstream_failed_total 1\n",
        "spillway_breaker_state 2\n",
        "spillway_upstream_calls_total{target=\"primary\"} 1\n",
        "spillway_upstream_calls_total{target=\"fallback\"} 1\n",
        "spillway_upstream_retries_total 1\n",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
}

/// Both keys refused: the request fails once, out of attempts, and its client gets the last
/// answer (the fallback's 403); nothing is counted abandoned.
#[tokio::test]
async fn both_keys_refused_fail_the_request_once_with_the_last_answer() {
    let rt = runtime();
    let calls = Calls::default();
    let app = as_one_user(&rt, refusing_the_primary_key(calls.clone(), false));
    let prompt = Request::post("/").body(Body::from("the prompt")).unwrap();
    let resp = app.oneshot(prompt).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls.lock().unwrap().len(), 2);
    assert_eq!(
        rt.with_state(|s, _| s.engine.len()),
        0,
        "nothing left inside"
    );
    let metrics = rt.metrics_text();
    for line in [
        "spillway_departed_total{class=\"interactive\",how=\"completed\"} 0\n",
        "spillway_departed_total{class=\"interactive\",how=\"failed\"} 1\n",
        "spillway_departed_total{class=\"interactive\",how=\"abandoned\"} 0\n",
        "spillway_upstream_failed_total 2\n",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
}
