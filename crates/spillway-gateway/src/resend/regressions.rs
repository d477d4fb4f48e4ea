//! Regressions: defects a review of `Resend` found (a copy left waiting for good, frames kept
//! with no copy left to make).

use super::*;
use crate::relay_body;
use http_body::Body as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

/// A waker that counts its wakes.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counted() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count::default());
    (count.clone(), Waker::from(count))
}

fn poll(body: &mut Body, waker: &Waker) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
    Pin::new(body).poll_frame(&mut Context::from_waker(waker))
}

/// The inner service answered the first copy (a 401 sent before the upstream read the whole
/// body) but its connection task still reads that copy, waiting on the client's body, when the
/// layer makes the second copy for the fallback. The client's body keeps one waker, so with
/// both waiting one would never be woken: the first copy's task stuck for good (holding its
/// upstream connection), or the fallback's send and the client with it. The first copy is
/// woken when superseded and ends with an error; the second, the one that reads, gets the
/// client's next chunk.
#[tokio::test]
async fn a_superseded_copy_is_woken_and_ends_and_the_newest_reads_on() {
    let (tx, body) = relay_body(4);
    let req = Request::post("/").body(Body::new(body)).expect("a request");
    let resend = Resend::new(req, true);
    let mut first = resend.copy(Dispatched::CACHE).into_body();
    let (first_woken, first_waker) = counted();
    assert!(poll(&mut first, &first_waker).is_pending());
    let mut second = resend.copy(Dispatched::CACHE).into_body();
    assert_eq!(
        first_woken.0.load(Ordering::SeqCst),
        1,
        "the superseded copy is woken"
    );
    assert!(
        matches!(poll(&mut first, &first_waker), Poll::Ready(Some(Err(_)))),
        "and ends"
    );
    let (second_woken, second_waker) = counted();
    assert!(poll(&mut second, &second_waker).is_pending());
    tx.send(Bytes::from("chunk")).await.expect("room");
    assert!(
        second_woken.0.load(Ordering::SeqCst) > 0,
        "the newest is woken"
    );
    let Poll::Ready(Some(Ok(frame))) = poll(&mut second, &second_waker) else {
        panic!("the newest copy gets the chunk");
    };
    assert_eq!(frame.into_data().expect("data"), "chunk");
}

/// Once the answer was accepted the layer drops its `Resend`: no copy can be made any more,
/// so a copy the inner service still reads (a streamed upload whose answer came first) need
/// not keep what it read (the tape kept every frame for as long as that copy lived).
#[tokio::test]
async fn frames_read_after_the_resend_is_dropped_are_not_kept() {
    let (tx, body) = relay_body(4);
    let req = Request::post("/").body(Body::new(body)).expect("a request");
    let resend = Resend::new(req, true);
    let tape = resend.tape.clone();
    let mut copy = resend.copy(Dispatched::CACHE).into_body();
    drop(resend); // the answer was accepted: `serve` returned
    let waker = Waker::noop();
    for _ in 0..64 {
        tx.send(Bytes::from(vec![b'x'; 1024])).await.expect("room");
        let frame = poll(&mut copy, waker);
        assert!(matches!(frame, Poll::Ready(Some(Ok(_)))), "a chunk");
    }
    // The copy is still alive (its service reads on); what it read was handed on.
    let kept: usize = tape
        .lock()
        .expect("unpoisoned")
        .kept
        .iter()
        .filter_map(|f| f.data_ref().map(Bytes::len))
        .sum();
    assert_eq!(kept, 0, "bytes the tape keeps with no copy left to make");
}

/// Without a fallback nothing is ever sent twice through the layer, so nothing is kept: the one
/// copy lets each frame go as it passes it, and a second copy (which the layer never makes)
/// would fail rather than send a body missing its start.
#[tokio::test]
async fn a_request_that_cannot_be_resent_keeps_nothing() {
    let (tx, body) = relay_body(4);
    let req = Request::post("/").body(Body::new(body)).expect("a request");
    let resend = Resend::new(req, false);
    let tape = resend.tape.clone();
    let mut copy = resend.copy(Dispatched::CACHE).into_body();
    let waker = Waker::noop();
    for _ in 0..8 {
        tx.send(Bytes::from(vec![b'x'; 1024])).await.expect("room");
        assert!(matches!(poll(&mut copy, waker), Poll::Ready(Some(Ok(_)))));
    }
    assert_eq!(Tape::lock(&tape).kept.len(), 0, "frames kept");
    let mut again = resend.copy(Dispatched::CACHE).into_body();
    assert!(matches!(poll(&mut again, waker), Poll::Ready(Some(Err(_)))));
}
