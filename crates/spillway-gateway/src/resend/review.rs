//! Review repros (branch `look`): each test fails on main because of a defect in `Resend`.

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
/// body) but its connection task still reads that copy; the layer hands the second copy to
/// the fallback. Both now wait on the client's body. When the client sends its next chunk,
/// every waiting copy must get it once the woken are polled (as an executor does): a copy
/// never woken is never polled again (the client's body keeps one waker, that of the last
/// copy to poll). On main only the last to poll is woken: here the first copy's task hangs
/// (holding the tape, so every later frame, and its upstream connection); had the first copy
/// polled last, the fallback's send would hang and the client with it.
#[tokio::test]
async fn every_copy_waiting_on_the_clients_body_is_woken_when_it_moves() {
    let (tx, body) = relay_body(4);
    let req = Request::post("/").body(Body::new(body)).expect("a request");
    let resend = Resend::new(req);
    let mut copies = [
        resend.copy(Dispatched::CACHE).into_body(),
        resend.copy(Dispatched::CACHE).into_body(),
    ];
    let wakers = [counted(), counted()];
    for (copy, (_, waker)) in copies.iter_mut().zip(&wakers) {
        assert!(poll(copy, waker).is_pending());
    }
    tx.send(Bytes::from("chunk")).await.expect("room");
    // An executor's round: poll each copy woken since its last poll, until none is.
    let mut polled_at = [0, 0];
    let mut got = [false, false];
    loop {
        let mut progress = false;
        for i in 0..2 {
            let wakes = wakers[i].0.0.load(Ordering::SeqCst);
            if got[i] || wakes == polled_at[i] {
                continue;
            }
            polled_at[i] = wakes;
            progress = true;
            if let Poll::Ready(Some(Ok(frame))) = poll(&mut copies[i], &wakers[i].1) {
                assert_eq!(frame.into_data().expect("data"), "chunk");
                got[i] = true;
            }
        }
        if !progress {
            break;
        }
    }
    assert_eq!(got, [true, true], "which copies got the client's chunk");
}

/// Once the answer was accepted the layer drops its `Resend`: no copy can be made any more,
/// so a copy the inner service still reads (a streamed upload whose answer came first) need
/// not keep what it read. On main the tape keeps every frame for as long as that copy lives.
#[tokio::test]
async fn frames_read_after_the_resend_is_dropped_are_not_kept() {
    let (tx, body) = relay_body(4);
    let req = Request::post("/").body(Body::new(body)).expect("a request");
    let resend = Resend::new(req);
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
        .read
        .iter()
        .filter_map(|f| f.data_ref().map(Bytes::len))
        .sum();
    assert_eq!(kept, 0, "bytes the tape keeps with no copy left to make");
}
