//! The body of an accepted response through [`crate::GatewayLayer`]: its end completes the
//! call, its early drop cancels it.
//!
//! Why "its end" is more than `poll_frame` returning `None`: hyper stops polling a body once
//! it wrote the length the body declared (a `Content-Length`, or an exact size hint) and drops
//! it unpolled, and it never polls a body that says it is already at its end (a HEAD answer,
//! an empty one). So the end is also the inner body reporting [`is_end_stream`] after a
//! frame, or when the body is dropped. The size hint and the end are forwarded, so a response
//! keeps the length its service gave it rather than turning chunked.
//!
//! [`is_end_stream`]: http_body::Body::is_end_stream

use crate::Call;
use axum::body::Body;
use http_body::Body as _;
use rand_core::Rng;
use spillway_core::engine::{Completion, Limiter, Spend};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A response body whose end completes its call (and whose early drop cancels it).
pub(crate) struct Settling<M: Copy, L: Limiter, S: Spend<M>, R: Rng> {
    body: Body,
    call: Option<(Call<M, L, S, R>, Completion)>,
}

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Settling<M, L, S, R> {
    /// `body`, whose end completes `call` with `usage`.
    pub(crate) fn new(body: Body, call: Call<M, L, S, R>, usage: Completion) -> Self {
        Settling {
            body,
            call: Some((call, usage)),
        }
    }

    /// Complete the call (once).
    fn complete(&mut self) {
        if let Some((call, usage)) = self.call.take() {
            call.complete(usage);
        }
    }

    /// Complete the call if the inner body has nothing more to give.
    fn complete_if_ended(&mut self) {
        if self.body.is_end_stream() {
            self.complete();
        }
    }
}

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> http_body::Body for Settling<M, L, S, R> {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match polled {
            Poll::Ready(None) => self.complete(),
            Poll::Ready(Some(Ok(_))) => self.complete_if_ended(),
            // An error leaves the call to the drop: billed, as a broken stream is.
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Unpin for Settling<M, L, S, R> {}

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Drop for Settling<M, L, S, R> {
    /// Dropped at its end (unpolled once its length was written, or never polled because it
    /// was empty), the call completes; dropped before, the call's own drop cancels it.
    fn drop(&mut self) {
        self.complete_if_ended();
    }
}
