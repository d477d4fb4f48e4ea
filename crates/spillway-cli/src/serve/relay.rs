//! The upstream's answer relayed to the client: an error or a non-streaming success read whole
//! (capped, each chunk within the idle timeout), a stream chunk by chunk. The usage it reports
//! completes the call in the engine; a stream that breaks or falls silent is cut on the client's
//! side too ([`spillway_gateway::RelayBody`]), so that an SDK sees an error, not a short answer.

use super::key_refused;
use super::proxy::{Gateway, GatewayCall, Upstream};
use super::upstream_failure::{error_chain, timed_out};
use super::usage::{SseUsage, Usage};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use spillway_core::engine::Completion;
use spillway_gateway::{RelaySender, headers};

/// Largest upstream body read whole (non-streaming answers and error bodies).
const MAX_UPSTREAM_BODY: usize = 64 << 20;

/// What a stream's upstream may still send after `[DONE]` (the chunked body's end, a final
/// blank event) that is read and dropped so that its connection can be used again: bytes, and
/// time. A provider that sends more, or falls silent without ending the body, loses its
/// connection instead; it holds nothing of the call's (see [`drain`]).
const DRAIN_AFTER_DONE_BYTES: usize = 64 << 10;
const DRAIN_AFTER_DONE_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// The upstream's headers minus hop-by-hop ones and its own rate-limit headers (the caller
/// gets the gateway's).
fn passed_headers(upstream: &HeaderMap, streaming: bool) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in upstream {
        let n = name.as_str();
        let hop = matches!(
            n,
            "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade"
        );
        // The upstream's advice to retry was the engine's to follow (it did): passed on, it
        // would make the client repeat every attempt the engine already made. Its advice not
        // to is passed on: the SDKs would otherwise retry a 5xx the provider said was final.
        let advice = n == headers::SHOULD_RETRY && value.as_bytes() != b"false";
        if hop || advice || n.starts_with("x-ratelimit-") || (streaming && n == "content-length") {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// A response with `status`, `headers` and `body`.
fn answer(status: reqwest::StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    *resp.headers_mut() = headers;
    resp
}

/// Why a body could not be read whole.
enum BodyError {
    /// Broken, or too large: 502 with this text.
    Bad(String),
    /// Silent past a timeout: 504.
    TimedOut,
}

impl BodyError {
    /// The client's answer; `billed` if the provider accepted the call (a success whose body
    /// broke): then final, as a lost connection's, so that no SDK pays for it twice more.
    fn response(&self, billed: bool) -> Response {
        let error = if billed {
            headers::final_error
        } else {
            headers::error
        };
        match self {
            BodyError::Bad(e) => error(StatusCode::BAD_GATEWAY, e, "server_error", "upstream_body"),
            BodyError::TimedOut => timed_out(),
        }
    }
}

/// The next chunk of `resp`, waiting at most `idle` for it.
async fn next_chunk(
    resp: &mut reqwest::Response,
    idle: std::time::Duration,
) -> Result<Option<Bytes>, BodyError> {
    match tokio::time::timeout(idle, resp.chunk()).await {
        Err(_) => Err(BodyError::TimedOut),
        Ok(Err(e)) if e.is_timeout() => Err(BodyError::TimedOut),
        Ok(Err(e)) => Err(BodyError::Bad(error_chain(&e))),
        Ok(Ok(chunk)) => Ok(chunk),
    }
}

/// Read a body whole, up to [`MAX_UPSTREAM_BODY`], waiting at most `idle` for each chunk.
async fn read_capped(
    resp: &mut reqwest::Response,
    idle: std::time::Duration,
) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    while let Some(chunk) = next_chunk(resp, idle).await? {
        if out.len().saturating_add(chunk.len()) > MAX_UPSTREAM_BODY {
            return Err(BodyError::Bad(format!(
                "the upstream's body is over {MAX_UPSTREAM_BODY} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A refused or error answer from `from`, passed through as the upstream sent it, unless it
/// refuses the gateway's own key: then the gateway's 502, and a line for the operator (rated:
/// `clock`'s time says whether one was written lately).
pub(super) async fn whole_error(
    mut resp: reqwest::Response,
    from: &Upstream,
    idle: std::time::Duration,
    clock: &Gateway,
) -> Response {
    let headers = passed_headers(resp.headers(), false);
    let status = resp.status();
    let body = read_capped(&mut resp, idle).await;
    if key_refused::refuses_key(status.as_u16()) {
        let seen = body.as_deref().unwrap_or_default();
        key_refused::tell_operator(from, status.as_u16(), seen, clock);
        return key_refused::response(from, status.as_u16());
    }
    match body {
        Ok(body) => answer(status, headers, Body::from(body)),
        Err(e) => e.response(false),
    }
}

/// A non-streaming success: read it, settle with its `usage` (without one, at the estimates
/// the call was reserved for), answer.
pub(super) async fn whole(
    call: GatewayCall,
    mut resp: reqwest::Response,
    (input_estimate, output_estimate): (u64, u64),
    idle: std::time::Duration,
) -> Response {
    let headers = passed_headers(resp.headers(), false);
    let status = resp.status();
    match read_capped(&mut resp, idle).await {
        Ok(body) => {
            let mut usage = Usage::default();
            if let Ok(value) = serde_json::from_slice(&body) {
                usage.observe(&value);
            }
            let (input_tokens, output_tokens) = usage.whole_tokens(input_estimate, output_estimate);
            call.complete(Completion {
                input_tokens,
                output_tokens,
                failed: false,
            });
            answer(status, headers, Body::from(body))
        }
        Err(e) => {
            call.complete(Completion {
                input_tokens: input_estimate,
                output_tokens: 0,
                failed: true,
            });
            e.response(true)
        }
    }
}

/// A streaming success: chunks are relayed as they come. A client that goes away, or takes no
/// chunk for the client-stall timeout, drops the call after reporting the usage seen so far (it
/// leaves the engine, which books the larger of that and its estimate) and the upstream
/// response (its connection is closed). An upstream stream that breaks, or falls silent for
/// `idle`, completes the call as failed and cuts the client's body (its connection is aborted,
/// not ended as if the answer were whole).
pub(super) fn relay(
    call: GatewayCall,
    resp: reqwest::Response,
    input_estimate: u64,
    timeouts: super::upstream_failure::Timeouts,
) -> Response {
    let headers = passed_headers(resp.headers(), true);
    let status = resp.status();
    let (tx, body) = spillway_gateway::relay_body(16);
    tokio::spawn(relay_stream(call, resp, tx, input_estimate, timeouts));
    answer(status, headers, Body::new(body))
}

/// Where a stream's end is reported: the engine's call (a recorder in the tests).
trait StreamCall: Send + 'static {
    /// The answer ended, whole or failed: the engine books `completion`.
    fn complete(self, completion: Completion);
    /// The client left first: the usage seen so far (the engine books the larger of it and the
    /// estimate when the call drops, as a call that left).
    fn left(self, input_tokens: u64, output_tokens: u64);
}

impl StreamCall for GatewayCall {
    fn complete(self, completion: Completion) {
        spillway_gateway::Call::complete(self, completion);
    }
    fn left(self, input_tokens: u64, output_tokens: u64) {
        self.progress(input_tokens, output_tokens);
    }
}

/// How the relay of a stream's chunks ended.
enum End {
    /// `[DONE]` went by, in this chunk (not yet sent to the client): the answer is whole,
    /// whatever its client or its upstream does next. (Some clients stop reading at `[DONE]`,
    /// and the upstream may break or fall silent before its body's end: neither makes it a call
    /// cut short, billed at its estimate and its client's body cut.)
    Done(Bytes),
    /// The client left, or took no chunk for the stall timeout, before `[DONE]`.
    ClientLeft,
    /// Before `[DONE]`, the upstream ended its body (`failed: false`), or broke or fell silent
    /// (`true`).
    Upstream { failed: bool },
}

/// Relay `resp` to `tx` and report its end to `call`. After `[DONE]` the call completes at
/// once, and the client's last chunk and end go out beside the upstream's [`drain`]: a client
/// stalled on them delays neither. (Before, the call completed only once `[DONE]` was handed
/// to the client, and the drain waited for that and for the body's end, each up to the stall
/// timeout.)
async fn relay_stream<C: StreamCall>(
    call: C,
    mut resp: reqwest::Response,
    tx: RelaySender,
    input_estimate: u64,
    timeouts: super::upstream_failure::Timeouts,
) {
    let stall = timeouts.client_stall;
    let mut sse = SseUsage::default();
    let end = relay_chunks(&mut resp, &tx, &mut sse, timeouts.idle, stall).await;
    let (input_tokens, output_tokens) = sse.usage.streamed_tokens(input_estimate);
    let completion = |failed| Completion {
        input_tokens,
        output_tokens,
        failed,
    };
    match end {
        // `call` drops after this: it left.
        End::ClientLeft => call.left(input_tokens, output_tokens),
        // `tx` drops unfinished: the client's body is cut.
        End::Upstream { failed: true } => call.complete(completion(true)),
        End::Upstream { failed: false } => {
            call.complete(completion(false));
            // The end marker, bounded for the same reason as every chunk.
            let _ = tokio::time::timeout(stall, tx.finish()).await;
        }
        End::Done(last) => {
            call.complete(completion(false));
            tokio::join!(finish_with(tx, last, stall), drain(resp));
        }
    }
}

/// Relay chunks, feeding `sse`, until `[DONE]`, the upstream's end or the client's.
async fn relay_chunks(
    resp: &mut reqwest::Response,
    tx: &RelaySender,
    sse: &mut SseUsage,
    idle: std::time::Duration,
    stall: std::time::Duration,
) -> End {
    loop {
        let chunk = tokio::select! {
            () = tx.closed() => return End::ClientLeft,
            chunk = next_chunk(resp, idle) => chunk,
        };
        match chunk {
            Ok(Some(bytes)) => {
                sse.feed(&bytes);
                // Nothing follows `[DONE]`: the call ends now, not when the upstream closes
                // (or falls silent for `idle`) after it.
                if sse.done {
                    return End::Done(bytes);
                }
                if !send(tx, bytes, stall).await {
                    return End::ClientLeft;
                }
            }
            Ok(None) => return End::Upstream { failed: false },
            Err(_) => return End::Upstream { failed: true },
        }
    }
}

/// Send `bytes` to the client; `false` if it is gone. A client that stops reading (a hung
/// process whose kernel still acknowledges) fills the channel, and then this waits: bounded by
/// `stall`, else the call would hold its slot and reservations for ever. Past it, the client is
/// treated as gone.
async fn send(tx: &RelaySender, bytes: Bytes, stall: std::time::Duration) -> bool {
    matches!(
        tokio::time::timeout(stall, tx.send(bytes)).await,
        Ok(Ok(()))
    )
}

/// The last chunk, then the body's end (each bounded like every chunk); none for a client
/// treated as gone at the last chunk (its body is dropped unfinished).
async fn finish_with(tx: RelaySender, last: Bytes, stall: std::time::Duration) {
    if send(&tx, last, stall).await {
        let _ = tokio::time::timeout(stall, tx.finish()).await;
    }
}

/// Read what follows `[DONE]` to the body's end, at most [`DRAIN_AFTER_DONE_BYTES`] within
/// [`DRAIN_AFTER_DONE_TIME`], then drop it: hyper puts a connection back in the pool only once
/// its response was read to the end, and the chunked body's last chunk usually comes in a
/// write of its own after `[DONE]`, so a response dropped at `[DONE]` cost a new connection
/// (TCP and TLS handshakes) for the next call. Run after the call completed, beside the end of
/// the client's body: it delays neither.
async fn drain(mut resp: reqwest::Response) {
    let reading = async {
        let mut left = DRAIN_AFTER_DONE_BYTES;
        while let Ok(Some(chunk)) = resp.chunk().await {
            let Some(rest) = left.checked_sub(chunk.len()) else {
                return;
            };
            left = rest;
        }
    };
    let _ = tokio::time::timeout(DRAIN_AFTER_DONE_TIME, reading).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::upstream_failure::Timeouts;
    use std::sync::{Arc, Mutex};

    /// A call that records how it ended.
    #[derive(Clone, Default)]
    struct Recorded(Arc<Mutex<Vec<String>>>);

    impl Recorded {
        fn push(&self, event: String) {
            self.0.lock().unwrap().push(event);
        }
        fn events(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    impl StreamCall for Recorded {
        fn complete(self, c: Completion) {
            let (i, o, failed) = (c.input_tokens, c.output_tokens, c.failed);
            self.push(format!("complete {i} {o} failed: {failed}"));
        }
        fn left(self, input_tokens: u64, output_tokens: u64) {
            self.push(format!("left {input_tokens} {output_tokens}"));
        }
    }

    const USAGE: &[u8] = b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\
\"completion_tokens\":2,\"total_tokens\":9}}\n\n";
    const DONE: &[u8] = b"data: [DONE]\n\n";

    /// Far longer than the test may take: a wait on it is a wait that never ends.
    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

    #[tokio::test]
    async fn a_client_stalled_on_done_delays_neither_the_settlement_nor_the_drain() {
        // The upstream: the usage event and `[DONE]`, then silence (its body never ends).
        let (upstream, upstream_body) = spillway_gateway::relay_body(4);
        upstream.send(Bytes::from_static(USAGE)).await.unwrap();
        upstream.send(Bytes::from_static(DONE)).await.unwrap();
        let body = reqwest::Body::wrap(upstream_body);
        let resp = reqwest::Response::from(axum::http::Response::new(body));
        // The client's side holds one chunk and the client takes none: the usage event fills
        // it, and `[DONE]` waits for room.
        let (tx, client) = spillway_gateway::relay_body(1);
        let call = Recorded::default();
        let timeouts = Timeouts {
            total: HOUR,
            idle: HOUR,
            client_stall: HOUR,
        };
        let relaying = tokio::spawn(relay_stream(call.clone(), resp, tx, 100, timeouts));
        // The drain lets go of the silent upstream after DRAIN_AFTER_DONE_TIME. Before, it
        // started only after `[DONE]` and the body's end were handed to the client, each
        // waiting up to the stall timeout: an hour, with the client still stalled.
        let let_go = tokio::time::timeout(std::time::Duration::from_secs(60), upstream.closed());
        let_go
            .await
            .expect("the drain let go of the upstream while the client was stalled on [DONE]");
        assert_eq!(call.events(), ["complete 7 2 failed: false"]);
        assert!(!relaying.is_finished(), "the client's answer was given up");
        // The client reads at last: the whole answer, ended cleanly.
        let read = axum::body::to_bytes(Body::new(client), usize::MAX).await;
        assert_eq!(
            read.ok().as_deref(),
            Some([USAGE, DONE].concat().as_slice())
        );
        relaying.await.unwrap();
        assert_eq!(call.events().len(), 1);
    }
}
