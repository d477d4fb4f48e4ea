//! `stream: true`: the response as server-sent events, paced by the latency model.
//!
//! The provider decides the whole service time at admission (`done_at`); streaming only
//! spreads it: the first event after the time to first token (the empirical model's `base`
//! share of the service time, half of it for the other models), the text in up to
//! [`MAX_CONTENT_CHUNKS`] even steps until `done_at`, then the closing events. OpenAI shapes
//! end with `data: [DONE]` (after a usage chunk when `stream_options.include_usage`);
//! Anthropic's uses its event types (`message_start` … `message_stop`).

use crate::reply::{CallId, openai_usage, text};
use crate::request::{Parsed, Shape};
use axum::body::Bytes;
use serde_json::{Value, json};
use spillway_core::Duration;
use spillway_sim::provider::LatencySpec;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Most content events in one response (a long answer sends several tokens an event).
pub const MAX_CONTENT_CHUNKS: u64 = 16;

/// One event and when to send it, counted from admission (real time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    /// When.
    pub at: Duration,
    /// The SSE text (`data: …\n\n` or `event: …\ndata: …\n\n`).
    pub text: String,
}

/// Time to first token of a call whose whole service is `service`.
pub fn first_token(spec: &LatencySpec, output_tokens: u64, service: Duration) -> Duration {
    match *spec {
        LatencySpec::Empirical {
            base,
            per_output_token,
            ..
        } => {
            let nominal = base.saturating_add(per_output_token.saturating_mul(output_tokens));
            let share = u128::from(service.as_nanos()) * u128::from(base.as_nanos())
                / u128::from(nominal.as_nanos().max(1));
            Duration::from_nanos(
                u64::try_from(share)
                    .unwrap_or(u64::MAX)
                    .min(service.as_nanos()),
            )
        }
        _ => Duration::from_nanos(service.as_nanos() / 2),
    }
}

/// The events of a streamed answer, with their times.
pub fn events(p: &Parsed, call: CallId, ttft: Duration, service: Duration) -> Vec<Timed> {
    let chunks = p.output_tokens.clamp(1, MAX_CONTENT_CHUNKS);
    let decode = service.saturating_sub(ttft);
    let at_chunk = |k: u64| {
        let step = u128::from(decode.as_nanos()) * u128::from(k) / u128::from(chunks);
        ttft.saturating_add(Duration::from_nanos(
            u64::try_from(step).unwrap_or(u64::MAX),
        ))
    };
    let mut out = Vec::new();
    let mut push = |at, text| out.push(Timed { at, text });
    let openai = |v: Value| format!("data: {v}\n\n");
    let anthropic = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let id = call.id(p.shape);
    match p.shape {
        Shape::Messages => {
            let start = json!({"type": "message_start", "message": {"id": id, "type": "message",
                "role": "assistant", "model": p.model, "content": [], "stop_reason": null,
                "stop_sequence": null,
                "usage": {"input_tokens": p.input_tokens, "output_tokens": 1}}});
            push(ttft, anthropic("message_start", start));
            let block = json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}});
            push(ttft, anthropic("content_block_start", block));
        }
        _ => {
            let first = chunk(p, &id, call.created, Some("assistant"), "", None);
            push(ttft, openai(first));
        }
    }
    let mut sent = 0;
    for k in 1..=chunks {
        let upto = p.output_tokens * k / chunks;
        let piece = text(sent, upto.saturating_sub(sent));
        sent = upto;
        let v = match p.shape {
            Shape::Messages => anthropic(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": piece}}),
            ),
            _ => openai(chunk(p, &id, call.created, None, &piece, None)),
        };
        push(at_chunk(k), v);
    }
    for text in closing(p, &id, call.created) {
        push(service, text);
    }
    out
}

/// The events after the last text.
fn closing(p: &Parsed, id: &str, created: i64) -> Vec<String> {
    if p.shape == Shape::Messages {
        let stop = json!({"type": "message_delta",
            "delta": {"stop_reason": "max_tokens", "stop_sequence": null},
            "usage": {"output_tokens": p.output_tokens}});
        return vec![
            format!(
                "event: content_block_stop\ndata: {}\n\n",
                json!({"type": "content_block_stop", "index": 0})
            ),
            format!("event: message_delta\ndata: {stop}\n\n"),
            format!(
                "event: message_stop\ndata: {}\n\n",
                json!({"type": "message_stop"})
            ),
        ];
    }
    let mut out = vec![format!(
        "data: {}\n\n",
        chunk(p, id, created, None, "", Some("length"))
    )];
    if p.include_usage {
        let mut usage = chunk(p, id, created, None, "", None);
        usage["choices"] = json!([]);
        usage["usage"] = openai_usage(p);
        out.push(format!("data: {usage}\n\n"));
    }
    out.push("data: [DONE]\n\n".to_string());
    out
}

/// One OpenAI chunk (`chat.completion.chunk` or a `text_completion` piece).
fn chunk(
    p: &Parsed,
    id: &str,
    created: i64,
    role: Option<&str>,
    piece: &str,
    finish: Option<&str>,
) -> Value {
    let choice = match p.shape {
        Shape::Completion => json!({"index": 0, "text": piece, "logprobs": null,
            "finish_reason": finish}),
        _ => {
            let mut delta = json!({});
            if let Some(role) = role {
                delta["role"] = json!(role);
            }
            if finish.is_none() {
                delta["content"] = json!(piece);
            }
            json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish})
        }
    };
    let object = match p.shape {
        Shape::Completion => "text_completion",
        _ => "chat.completion.chunk",
    };
    let mut v = json!({"id": id, "object": object, "created": created, "model": p.model,
        "choices": [choice]});
    if p.include_usage {
        v["usage"] = Value::Null;
    }
    v
}

/// A response body fed by a channel: the pacing task sends, hyper writes as they come.
pub struct ChannelBody(pub mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(http_body::Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(shape: Shape, out: u64, usage: bool) -> Parsed {
        Parsed {
            shape,
            model: "m".to_string(),
            input_tokens: 3,
            max_tokens: out,
            max_tokens_named: true,
            output_tokens: out,
            stream: true,
            include_usage: usage,
        }
    }

    #[test]
    fn events_are_in_time_order_and_end_like_the_real_apis() {
        let call = CallId { seq: 1, created: 0 };
        let (ttft, service) = (Duration::from_millis(100), Duration::from_millis(500));
        let ev = events(&parsed(Shape::Chat, 40, true), call, ttft, service);
        assert!(ev.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(ev.first().map(|e| e.at), Some(ttft));
        assert_eq!(ev.last().map(|e| e.text.as_str()), Some("data: [DONE]\n\n"));
        assert!(ev[ev.len() - 2].text.contains("\"total_tokens\":43"));
        assert_eq!(ev.len() as u64, 1 + MAX_CONTENT_CHUNKS + 3);
        let words: usize = ev.iter().map(|e| e.text.matches(' ').count()).sum();
        assert!(words >= 40);
        let an = events(&parsed(Shape::Messages, 2, false), call, ttft, service);
        assert!(
            an.last()
                .is_some_and(|e| e.text.starts_with("event: message_stop"))
        );
    }

    #[test]
    fn the_first_token_is_the_base_share() {
        let spec = LatencySpec::Empirical {
            base: Duration::from_millis(400),
            per_output_token: Duration::from_millis(10),
            jitter: 0.1,
        };
        let ttft = first_token(&spec, 60, Duration::from_millis(1100));
        assert_eq!(ttft, Duration::from_millis(440));
    }
}
