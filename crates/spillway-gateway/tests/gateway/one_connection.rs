//! An upstream connection as hyper's HTTP/1 `SendRequest` is one, for the resend tests: it can
//! take the next request only once the last response's body is gone (until then its
//! `poll_ready` would stay Pending). This one answers Ready anyway and notes that it was asked
//! while busy, so a test can tell a layer that would hang from one that would not.

use axum::body::{Body, Bytes};
use axum::http::{Request, Response, StatusCode};
use http_body::Frame;
use spillway_core::upstream::Target;
use spillway_gateway::{Dispatched, Upstream};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

/// A response body that counts itself live until dropped.
struct Live {
    body: Body,
    live: Arc<AtomicUsize>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl http_body::Body for Live {
    type Data = Bytes;
    type Error = axum::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }
}

/// The primary refuses its key (401); the fallback answers `fallback`; the cache 200. With
/// `release`, the primary's first call waits for it before answering.
#[derive(Clone)]
pub struct OneConnection {
    live: Arc<AtomicUsize>,
    pub asked_while_busy: Arc<AtomicBool>,
    pub calls: Arc<AtomicUsize>,
    pub primary_calls: Arc<AtomicUsize>,
    pub release: Option<Arc<tokio::sync::Notify>>,
    fallback: StatusCode,
}

impl OneConnection {
    pub fn new(fallback: StatusCode) -> Self {
        OneConnection {
            live: Arc::default(),
            asked_while_busy: Arc::default(),
            calls: Arc::default(),
            primary_calls: Arc::default(),
            release: None,
            fallback,
        }
    }

    fn answer(&self, status: StatusCode) -> Response<Body> {
        self.live.fetch_add(1, Ordering::SeqCst);
        let body = Body::new(Live {
            body: Body::from(status.as_str().to_owned()),
            live: self.live.clone(),
        });
        Response::builder().status(status).body(body).unwrap()
    }
}

impl tower::Service<Request<Body>> for OneConnection {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.live.load(Ordering::SeqCst) > 0 {
            self.asked_while_busy.store(true, Ordering::SeqCst);
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let this = self.clone();
        this.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let sent = *req.extensions().get::<Dispatched>().expect("dispatched");
            let _ = axum::body::to_bytes(req.into_body(), 1 << 16).await;
            Ok(match sent.upstream {
                Upstream::Provider(Target::Primary) => {
                    let first = this.primary_calls.fetch_add(1, Ordering::SeqCst) == 0;
                    if let (true, Some(release)) = (first, &this.release) {
                        release.notified().await;
                    }
                    this.answer(StatusCode::UNAUTHORIZED)
                }
                Upstream::Provider(Target::Fallback) => this.answer(this.fallback),
                Upstream::Cache => this.answer(StatusCode::OK),
            })
        })
    }
}
