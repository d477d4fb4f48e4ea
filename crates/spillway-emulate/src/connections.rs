//! Serving a [`Bounded`] listener's connections with time limits, for `emulate` and `serve`.
//!
//! Why not `axum::serve`: it builds hyper without a timer, so hyper has no header-read timeout
//! and a client that connects and sends nothing, or keeps an idle keep-alive connection, holds
//! one of the `--max-connections` slots for ever (a few such sockets lock everyone out). Here
//! hyper gets a timer and `client_timeout` as its header-read timeout, which hyper starts as
//! soon as it waits for a request head: on a new connection and again after every answer, so
//! it also closes idle keep-alive connections. (A request body is bounded by the handlers,
//! which read it within the same `client_timeout`.)
//!
//! Graceful shutdown is `axum::serve`'s: on `shutdown`, stop accepting, let every connection
//! finish the request it is serving, then return.

use crate::listener::Bounded;
use axum::Router;
use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;

/// The default of `--client-timeout`: generous for a real client (a request head arrives in
/// one round trip), short enough that idle sockets give their slots back.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Serve `router` on `listener` until `shutdown` completes and the connections then open have
/// finished their requests; a connection that sends no request head within `client_timeout`
/// (new, or idle between requests) is closed.
pub async fn serve(
    mut listener: Bounded,
    router: Router,
    client_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    // Dropping the receiver tells every connection (they wait on `closed`) to wind down.
    let (stop_tx, stop_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(stop_rx);
    });
    // Each connection holds a receiver: `closed` resolves when the last one has ended.
    let (done_tx, done_rx) = watch::channel(());
    loop {
        let io = tokio::select! {
            (io, _) = listener.accept() => io,
            () = stop_tx.closed() => break,
        };
        let connection = connection(io, router.clone(), client_timeout, stop_tx.clone());
        let done = done_rx.clone();
        tokio::spawn(async move {
            connection.await;
            drop(done);
        });
    }
    drop(done_rx);
    drop(listener);
    done_tx.closed().await;
}

/// One connection, HTTP/1.1 with keep-alive, wound down gracefully when `stop` closes.
async fn connection(
    io: <Bounded as Listener>::Io,
    router: Router,
    client_timeout: Duration,
    stop: watch::Sender<()>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(client_timeout);
    let service = TowerToHyperService::new(router);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        // Its errors (a header timeout, a reset) only end this connection.
        _ = conn.as_mut() => return,
        () = stop.closed() => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// A request's body, at most `max` bytes, read within `limit` (a client that sends its head
/// and then trickles or withholds the body would hold its connection slot otherwise); else
/// why not, for a 400.
pub async fn read_body(
    body: axum::body::Body,
    max: usize,
    limit: Duration,
) -> Result<axum::body::Bytes, String> {
    match tokio::time::timeout(limit, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(format!(
            "the request body is over {max} bytes (or could not be read)"
        )),
        Err(_) => Err(format!(
            "the request body did not arrive within {} s",
            limit.as_secs_f64()
        )),
    }
}
