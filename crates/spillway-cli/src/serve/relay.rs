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
use spillway_gateway::headers;

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

/// A non-streaming success: read it, settle with its `usage`, answer.
pub(super) async fn whole(
    call: GatewayCall,
    mut resp: reqwest::Response,
    input_estimate: u64,
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
            let (input_tokens, output_tokens) = usage.tokens(input_estimate);
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
/// chunk for the client-stall timeout, drops the call after reporting the usage seen so far (it leaves the
/// engine, which books the larger of that and its estimate) and the upstream response (its
/// connection is closed). An upstream
/// stream that breaks, or falls silent for `idle`, completes the call as failed and cuts the
/// client's body (its connection is aborted, not ended as if the answer were whole).
pub(super) fn relay(
    call: GatewayCall,
    mut resp: reqwest::Response,
    input_estimate: u64,
    timeouts: super::upstream_failure::Timeouts,
) -> Response {
    let headers = passed_headers(resp.headers(), true);
    let status = resp.status();
    let (idle, stall) = (timeouts.idle, timeouts.client_stall);
    let (tx, body) = spillway_gateway::relay_body(16);
    tokio::spawn(async move {
        let mut sse = SseUsage::default();
        let ended = loop {
            let chunk = tokio::select! {
                () = tx.closed() => break None,
                chunk = next_chunk(&mut resp, idle) => chunk,
            };
            match chunk {
                Ok(Some(bytes)) => {
                    sse.feed(&bytes);
                    // A client that stops reading (a hung process whose kernel still
                    // acknowledges) fills the channel, and then this waits: bounded, else
                    // the call would hold its slot and reservations for ever. Past it, the
                    // client is treated as gone.
                    if !matches!(
                        tokio::time::timeout(stall, tx.send(bytes)).await,
                        Ok(Ok(()))
                    ) {
                        break None;
                    }
                    // Nothing follows `[DONE]`: the call ends now, not when the upstream
                    // closes (or falls silent for `idle`) after it.
                    if sse.done {
                        break Some(false);
                    }
                }
                Ok(None) => break Some(false),
                Err(_) => break Some(true),
            }
        };
        // An answer whose `[DONE]` went by is whole: its client leaving before the upstream
        // closed (some clients stop reading at `[DONE]`), or the upstream breaking or falling
        // silent before its end, does not make it a call cut short (billed at its estimate,
        // its client's body cut): it completed, with its usage.
        let ended = if sse.done { Some(false) } else { ended };
        let (input_tokens, output_tokens) = sse.usage.tokens(input_estimate);
        match ended {
            // The client left: what the engine books (`call` drops after this: it left).
            None => call.progress(input_tokens, output_tokens),
            Some(failed) => {
                call.complete(Completion {
                    input_tokens,
                    output_tokens,
                    failed,
                });
                if !failed {
                    // The end marker, bounded for the same reason as every chunk.
                    let _ = tokio::time::timeout(stall, tx.finish()).await;
                }
                // A failed stream drops `tx` unfinished: the client's body is cut.
            }
        }
        if sse.done {
            drain(resp).await;
        }
    });
    answer(status, headers, Body::new(body))
}

/// Read what follows `[DONE]` to the body's end, at most [`DRAIN_AFTER_DONE_BYTES`] within
/// [`DRAIN_AFTER_DONE_TIME`], then drop it: hyper puts a connection back in the pool only once
/// its response was read to the end, and the chunked body's last chunk usually comes in a
/// write of its own after `[DONE]`, so a response dropped at `[DONE]` cost a new connection
/// (TCP and TLS handshakes) for the next call. Run after the call completed and the client's
/// body ended: it delays neither.
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
