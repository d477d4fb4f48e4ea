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
//! however far an earlier copy got before its service dropped it.
//!
//! **Only the newest copy reads.** The layer makes a copy only once the last one was answered
//! (refused), so an earlier copy's upstream has nothing more to say; its service may still be
//! writing that copy's body (an early answer, before the whole upload), and that copy now
//! ends with an error at its next read. Why: the client's body keeps one waker, so two copies
//! waiting on it would leave one never woken (a connection task stuck for good, or the
//! fallback's send and the client with it); and frames given to a copy that no longer
//! matters need not be kept for it.
//!
//! **Memory.** The tape keeps what a later copy would replay only while one can still be made:
//! once the [`Resend`] is gone (the answer accepted, or the request over) it is sealed, and
//! the newest copy releases each frame as it passes it. So a request holds its body until its
//! answer's head at most, as any proxy that may resend it does; without a fallback provider
//! nothing is sent twice through the layer, and nothing is kept at all.
//!
//! [`Outcome::KeyRefused`]: spillway_core::upstream::Outcome::KeyRefused

use crate::Dispatched;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::request::Parts;
use http_body::{Frame, SizeHint};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// A request's head and its body's tape: copies of it on demand.
pub(crate) struct Resend {
    head: Parts,
    tape: Arc<Mutex<Tape>>,
}

/// The client's body as far as a copy has read it, and the rest.
struct Tape {
    /// Frames read from the client's body that a copy may still replay, in order: the frame
    /// numbered `first` (counting every frame read) and those after it.
    kept: VecDeque<Frame<Bytes>>,
    first: usize,
    /// What is still to be read (`None`: its end was reached, or it broke).
    rest: Option<Body>,
    /// The client's body broke after the frames read: every copy breaks there too, rather
    /// than end as if it were whole.
    broken: bool,
    /// The newest copy's number: the one copy that reads.
    newest: u64,
    /// The newest copy's task while it waits on the client's body: woken when a newer copy
    /// supersedes it, to end instead of waiting for good.
    waiting: Option<Waker>,
    /// No copy will be made any more: nothing more is kept, what is kept goes once passed.
    sealed: bool,
}

impl Tape {
    fn lock(tape: &Mutex<Tape>) -> MutexGuard<'_, Tape> {
        // Every change leaves the tape whole, so a panicked holder left nothing half-done.
        tape.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Frame number `at`, if kept.
    fn kept(&self, at: usize) -> Option<&Frame<Bytes>> {
        self.kept.get(at.checked_sub(self.first)?)
    }

    /// Sealed, nothing before frame `at` is needed any more: let it go.
    fn release_before(&mut self, at: usize) {
        if self.sealed {
            while self.first < at && self.kept.pop_front().is_some() {
                self.first += 1;
            }
            self.first = self.first.max(at);
        }
    }
}

impl Resend {
    /// Keep `req` to hand out copies of; unless `resendable`, only one (nothing is kept: the
    /// tape is sealed from the start, and a second copy fails rather than miss the start).
    pub(crate) fn new(req: Request, resendable: bool) -> Self {
        let (head, body) = req.into_parts();
        let tape = Tape {
            kept: VecDeque::new(),
            first: 0,
            rest: Some(body),
            broken: false,
            newest: 0,
            waiting: None,
            sealed: !resendable,
        };
        Resend {
            head,
            tape: Arc::new(Mutex::new(tape)),
        }
    }

    /// The request once more, its extensions telling the inner service `dispatched`. Every
    /// earlier copy ends at its next read (see the module docs).
    pub(crate) fn copy(&self, dispatched: Dispatched) -> Request {
        let (number, superseded) = {
            let mut tape = Tape::lock(&self.tape);
            tape.newest += 1;
            (tape.newest, tape.waiting.take())
        };
        if let Some(waker) = superseded {
            waker.wake();
        }
        let replay = Replay {
            tape: self.tape.clone(),
            at: 0,
            number,
        };
        let mut req = Request::from_parts(self.head.clone(), Body::new(replay));
        req.extensions_mut().insert(dispatched);
        req
    }
}

impl Drop for Resend {
    /// No copy will be made any more: the newest copy keeps nothing it passes.
    fn drop(&mut self) {
        Tape::lock(&self.tape).sealed = true;
    }
}

/// One copy's body: the tape from its start, then the client's body read on.
struct Replay {
    tape: Arc<Mutex<Tape>>,
    /// The number of the next frame to give.
    at: usize,
    /// Which copy this is ([`Tape::newest`] when it is the one that reads).
    number: u64,
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
        let mut tape = Tape::lock(&this.tape);
        if this.number != tape.newest {
            return Poll::Ready(Some(Err(axum::Error::new(
                "the request was sent again elsewhere: this copy was answered already",
            ))));
        }
        if this.at < tape.first {
            // Frames this copy needs were let go: only when no copy was to be made again.
            return Poll::Ready(Some(Err(axum::Error::new(
                "the request's body was not kept: it cannot be sent again",
            ))));
        }
        tape.release_before(this.at);
        if let Some(frame) = tape.kept(this.at) {
            let frame = copy(frame);
            this.at += 1;
            tape.release_before(this.at);
            return Poll::Ready(Some(Ok(frame)));
        }
        if tape.broken {
            return Poll::Ready(Some(Err(axum::Error::new("the client's body broke"))));
        }
        let Some(rest) = tape.rest.as_mut() else {
            return Poll::Ready(None);
        };
        // Only the newest copy gets here, so the client's body's one waker is its.
        let Poll::Ready(polled) = Pin::new(rest).poll_frame(cx) else {
            tape.waiting = Some(cx.waker().clone());
            return Poll::Pending;
        };
        tape.waiting = None;
        match polled {
            Some(Ok(frame)) => {
                if !tape.sealed {
                    tape.kept.push_back(copy(&frame));
                }
                this.at += 1;
                tape.release_before(this.at);
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
        let tape = Tape::lock(&self.tape);
        self.number == tape.newest
            && tape.kept(self.at).is_none()
            && !tape.broken
            && tape
                .rest
                .as_ref()
                .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let tape = Tape::lock(&self.tape);
        let taped: u64 = (tape.kept.iter().skip(self.at.saturating_sub(tape.first)))
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
        (tx, Resend::new(req, true))
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
        let resend = Resend::new(req, true);
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
mod regressions;
