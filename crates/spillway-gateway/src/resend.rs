//! A request that [`crate::GatewayLayer`] can hand its inner service more than once.
//!
//! Why: the engine sends a request whose key the upstream refused (401/403) again on the
//! fallback, whose key is its own, whatever the answer said ([`Outcome::KeyRefused`]). The
//! layer gave the first copy, body and all, to its inner service; without a second one the
//! engine's retry waited for a send nobody made, and the request counted as abandoned.
//!
//! How, without reading bodies itself (middleware streams them): every copy's body is a
//! [`Replay`] of one shared tape. The first copy reads the client's body through it, and the
//! tape keeps each frame it passed (a [`Bytes`] shares its buffer: no copy of the payload);
//! a later copy replays those frames, then reads on from where the client's body was left,
//! however far an earlier copy got before its service dropped it. The tape lives as long as
//! the request's [`Resend`]: until the answer accepted, or the request's end.
//!
//! Copies are read one after another (the engine sends one at a time). A service that keeps
//! reading an earlier copy after answering shares the unread rest with the next: each gets
//! every frame, in order, but while both wait on the client's body only the last to wait is
//! woken (a body keeps one waker).
//!
//! [`Outcome::KeyRefused`]: spillway_core::upstream::Outcome::KeyRefused

use crate::Dispatched;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::request::Parts;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

/// A request's head and its body's tape: copies of it on demand.
pub(crate) struct Resend {
    head: Parts,
    tape: Arc<Mutex<Tape>>,
}

/// The client's body as far as a copy has read it, and the rest.
struct Tape {
    /// Every frame read from the client's body so far, in order.
    read: Vec<Frame<Bytes>>,
    /// What is still to be read (`None`: its end was reached, or it broke).
    rest: Option<Body>,
    /// The client's body broke after `read`: every copy breaks there too, rather than end
    /// as if it were whole.
    broken: bool,
}

impl Resend {
    /// Keep `req` to hand out copies of.
    pub(crate) fn new(req: Request) -> Self {
        let (head, body) = req.into_parts();
        let tape = Tape {
            read: Vec::new(),
            rest: Some(body),
            broken: false,
        };
        Resend {
            head,
            tape: Arc::new(Mutex::new(tape)),
        }
    }

    /// The request once more, its extensions telling the inner service `dispatched`.
    pub(crate) fn copy(&self, dispatched: Dispatched) -> Request {
        let replay = Replay {
            tape: self.tape.clone(),
            at: 0,
        };
        let mut req = Request::from_parts(self.head.clone(), Body::new(replay));
        req.extensions_mut().insert(dispatched);
        req
    }
}

/// One copy's body: the tape from its start, then the client's body read on.
struct Replay {
    tape: Arc<Mutex<Tape>>,
    /// The next frame of the tape to give.
    at: usize,
}

impl Replay {
    fn tape(&self) -> MutexGuard<'_, Tape> {
        // Every change leaves the tape whole, so a panicked holder left nothing half-done.
        self.tape.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The same frame again (a frame is data or trailers; [`Bytes`] share their buffer).
fn copy(frame: &Frame<Bytes>) -> Frame<Bytes> {
    match frame.data_ref() {
        Some(data) => Frame::data(data.clone()),
        None => Frame::trailers(frame.trailers_ref().cloned().unwrap_or_default()),
    }
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let at = this.at;
        let mut tape = this.tape.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(frame) = tape.read.get(at) {
            let frame = copy(frame);
            drop(tape);
            this.at += 1;
            return Poll::Ready(Some(Ok(frame)));
        }
        if tape.broken {
            return Poll::Ready(Some(Err(axum::Error::new("the client's body broke"))));
        }
        let Some(rest) = tape.rest.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = ready!(Pin::new(rest).poll_frame(cx));
        match polled {
            Some(Ok(frame)) => {
                tape.read.push(copy(&frame));
                drop(tape);
                this.at += 1;
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                tape.rest = None;
                tape.broken = true;
                Poll::Ready(Some(Err(e)))
            }
            None => {
                tape.rest = None;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        let tape = self.tape();
        self.at >= tape.read.len()
            && !tape.broken
            && tape
                .rest
                .as_ref()
                .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let tape = self.tape();
        let taped: u64 = tape.read[self.at.min(tape.read.len())..]
            .iter()
            .filter_map(|f| f.data_ref().map(|d| d.len() as u64))
            .sum();
        let rest = tape
            .rest
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint);
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower().saturating_add(taped));
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(taped));
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay_body;
    use axum::body::to_bytes;
    use http_body::Body as _;

    /// A POST whose body comes in three chunks, the first two already sent.
    async fn streamed() -> (crate::RelaySender, Resend) {
        let (tx, body) = relay_body(4);
        for chunk in ["one ", "two "] {
            tx.send(Bytes::from(chunk)).await.expect("room");
        }
        let req = Request::post("/").body(Body::new(body)).expect("a request");
        (tx, Resend::new(req))
    }

    fn sent() -> Dispatched {
        Dispatched::CACHE
    }

    /// A copy dropped after one chunk, then one never read: the next copy still gets the
    /// whole body, in order (what was read is replayed, the rest read on).
    #[tokio::test]
    async fn every_copy_gets_the_whole_body_however_far_the_last_one_read() {
        let (tx, resend) = streamed().await;
        let mut first = resend.copy(sent()).into_body();
        let frame = std::future::poll_fn(|cx| Pin::new(&mut first).poll_frame(cx)).await;
        let chunk = frame
            .expect("a frame")
            .expect("data")
            .into_data()
            .expect("bytes");
        assert_eq!(chunk, "one ");
        drop(first);
        drop(resend.copy(sent()));
        tx.send(Bytes::from("three")).await.expect("room");
        tx.finish().await;
        for _ in 0..2 {
            let copy = resend.copy(sent()).into_body();
            let whole = to_bytes(copy, 1 << 10).await.expect("whole");
            assert_eq!(whole, "one two three");
        }
    }

    /// A body that broke breaks every copy at the same place, rather than end as if whole.
    #[tokio::test]
    async fn a_broken_body_breaks_every_copy() {
        let (tx, resend) = streamed().await;
        drop(tx); // cut before its end
        for _ in 0..2 {
            let copy = resend.copy(sent()).into_body();
            assert!(to_bytes(copy, 1 << 10).await.is_err());
        }
    }

    /// A copy keeps the head and the length its request declared.
    #[tokio::test]
    async fn a_copy_keeps_the_head_and_the_size() {
        let req = Request::post("/v1/chat")
            .header("x-user", "7")
            .body(Body::from("prompt"))
            .expect("a request");
        let resend = Resend::new(req);
        let copy = resend.copy(sent());
        assert_eq!(copy.uri(), "/v1/chat");
        assert_eq!(copy.headers()["x-user"], "7");
        assert_eq!(copy.extensions().get::<Dispatched>(), Some(&sent()));
        assert_eq!(copy.body().size_hint().exact(), Some(6));
        assert_eq!(
            to_bytes(copy.into_body(), 64).await.expect("whole"),
            "prompt"
        );
        let again = resend.copy(sent()).into_body();
        assert_eq!(again.size_hint().exact(), Some(6));
        assert!(!again.is_end_stream());
    }
}

#[cfg(test)]
mod review;
