//! A response body relayed from an upstream stream, which ends cleanly only when the upstream
//! finished: a relay that stops any other way (the upstream's stream broke or fell silent, the
//! relaying task ended early) makes the body fail, so hyper aborts the client's connection
//! instead of closing the chunked body as if the answer were complete. A client (an SDK
//! reading server-sent events) then sees an error, not a short answer.

use axum::body::Bytes;
use http_body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// What travels from the relaying task to the body.
enum Piece {
    Data(Bytes),
    End,
}

/// The error of a relayed body that did not finish.
#[derive(Debug, thiserror::Error)]
#[error("the upstream's stream ended before it finished")]
pub struct StreamCut;

/// The client left: its body is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientGone;

/// The relaying task's end of a [`RelayBody`].
pub struct RelaySender(mpsc::Sender<Piece>);

/// A body fed by a [`RelaySender`]; see the module docs.
pub struct RelayBody {
    rx: mpsc::Receiver<Piece>,
    ended: bool,
}

/// A sender and its body, `capacity` chunks apart at most (backpressure to the upstream).
pub fn relay_body(capacity: usize) -> (RelaySender, RelayBody) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (RelaySender(tx), RelayBody { rx, ended: false })
}

impl RelaySender {
    /// Relay `bytes`, waiting for room.
    pub async fn send(&self, bytes: Bytes) -> Result<(), ClientGone> {
        self.0
            .send(Piece::Data(bytes))
            .await
            .map_err(|_| ClientGone)
    }

    /// Resolves when the client left (the body was dropped).
    pub async fn closed(&self) {
        self.0.closed().await;
    }

    /// The upstream finished: end the body cleanly. Dropping the sender without this cuts it.
    pub async fn finish(self) {
        // A client already gone needs no end.
        let _ = self.0.send(Piece::End).await;
    }
}

impl http_body::Body for RelayBody {
    type Data = Bytes;
    type Error = StreamCut;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        self.rx.poll_recv(cx).map(|piece| match piece {
            Some(Piece::Data(bytes)) => Some(Ok(Frame::data(bytes))),
            Some(Piece::End) => {
                self.ended = true;
                None
            }
            None => {
                self.ended = true;
                Some(Err(StreamCut))
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    async fn frames(mut body: RelayBody) -> Vec<Result<Bytes, String>> {
        let mut out = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            out.push(
                frame
                    .map(|f| f.into_data().unwrap_or_default())
                    .map_err(|e| e.to_string()),
            );
        }
        out
    }

    #[tokio::test]
    async fn a_finished_relay_ends_cleanly_and_a_dropped_one_fails() {
        let (tx, body) = relay_body(4);
        tx.send(Bytes::from_static(b"a")).await.unwrap();
        tx.finish().await;
        assert_eq!(frames(body).await, vec![Ok(Bytes::from_static(b"a"))]);

        let (tx, body) = relay_body(4);
        tx.send(Bytes::from_static(b"a")).await.unwrap();
        drop(tx);
        let got = frames(body).await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].is_err(), "{got:?}");
    }
}
