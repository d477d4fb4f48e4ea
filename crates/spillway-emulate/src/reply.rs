//! Response bodies of admitted calls in each API shape, and the 400 bodies of refused
//! requests. Pure functions of the request and the call's identity, so tests can check them
//! without a server.

use crate::request::{BadRequest, Parsed, Shape};
use serde_json::{Value, json};

/// Words the emulated model writes (one token each), cycled.
const WORDS: [&str; 8] = [
    "spill", "way", "emulated", "token", "text", "for", "your", "client",
];
/// Most words written into a body: `usage` still reports every output token, the text stops
/// here so a huge `max_tokens` cannot make a huge response.
pub const MAX_TEXT_TOKENS: u64 = 4096;
/// Dimension of the embeddings returned.
const EMBEDDING_DIM: usize = 8;

/// Who a response is: its id and creation second.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CallId {
    /// Sequence number of the call.
    pub seq: u64,
    /// Unix seconds when it was created.
    pub created: i64,
}

impl CallId {
    /// The id in the shape's style (`chatcmpl-…`, `cmpl-…`, `msg_…`).
    pub fn id(&self, shape: Shape) -> String {
        match shape {
            Shape::Chat => format!("chatcmpl-emu{:08}", self.seq),
            Shape::Completion => format!("cmpl-emu{:08}", self.seq),
            Shape::Embedding => format!("emb-emu{:08}", self.seq),
            Shape::Messages => format!("msg_emu{:08}", self.seq),
        }
    }
}

/// `tokens` words of text (at most [`MAX_TEXT_TOKENS`]), starting at word `from`.
pub fn text(from: u64, tokens: u64) -> String {
    let n = tokens.min(MAX_TEXT_TOKENS);
    let mut out = String::new();
    for i in from..from.saturating_add(n) {
        out.push_str(WORDS[(i % WORDS.len() as u64) as usize]);
        out.push(' ');
    }
    out
}

/// Why the model stopped: `max_tokens` was reached.
fn finish_reason(shape: Shape) -> &'static str {
    match shape {
        Shape::Messages => "max_tokens",
        _ => "length",
    }
}

/// The OpenAI `usage` object.
pub fn openai_usage(p: &Parsed) -> Value {
    json!({
        "prompt_tokens": p.input_tokens,
        "completion_tokens": p.output_tokens,
        "total_tokens": p.input_tokens.saturating_add(p.output_tokens),
    })
}

/// The body of an admitted, non-streamed call.
pub fn complete(p: &Parsed, call: CallId) -> Value {
    let id = call.id(p.shape);
    let body = text(0, p.output_tokens);
    match p.shape {
        Shape::Chat => json!({
            "id": id, "object": "chat.completion", "created": call.created, "model": p.model,
            "choices": [{"index": 0,
                "message": {"role": "assistant", "content": body, "refusal": null},
                "logprobs": null, "finish_reason": finish_reason(p.shape)}],
            "usage": openai_usage(p),
        }),
        Shape::Completion => json!({
            "id": id, "object": "text_completion", "created": call.created, "model": p.model,
            "choices": [{"index": 0, "text": body, "logprobs": null,
                "finish_reason": finish_reason(p.shape)}],
            "usage": openai_usage(p),
        }),
        Shape::Embedding => json!({
            "object": "list", "model": p.model,
            "data": [{"object": "embedding", "index": 0,
                "embedding": vec![0.125_f64; EMBEDDING_DIM]}],
            "usage": {"prompt_tokens": p.input_tokens, "total_tokens": p.input_tokens},
        }),
        Shape::Messages => json!({
            "id": id, "type": "message", "role": "assistant", "model": p.model,
            "content": [{"type": "text", "text": body}],
            "stop_reason": finish_reason(p.shape), "stop_sequence": null,
            "usage": {"input_tokens": p.input_tokens, "output_tokens": p.output_tokens},
        }),
    }
}

/// The 400 body: OpenAI's `invalid_request_error`, or Anthropic's for `/v1/messages`.
pub fn bad_request(shape: Shape, e: &BadRequest) -> Value {
    match shape {
        Shape::Messages => json!({"type": "error",
            "error": {"type": "invalid_request_error", "message": e.message}}),
        _ => json!({"error": {"message": e.message, "type": "invalid_request_error",
            "param": e.param, "code": null}}),
    }
}

/// An error of the emulator itself (busy, not found), in OpenAI's shape.
pub fn emulator_error(message: &str, kind: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// `GET /v1/models`: the profile's name as the one model.
pub fn models(name: &str, created: i64) -> Value {
    json!({"object": "list", "data": [{"id": name, "object": "model", "created": created,
        "owned_by": "spillway-emulate"}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_capped_and_ids_follow_the_shape() {
        assert_eq!(text(0, 2), "spill way ");
        assert_eq!(
            text(0, u64::MAX).split(' ').count() as u64,
            MAX_TEXT_TOKENS + 1
        );
        let call = CallId { seq: 7, created: 1 };
        assert_eq!(call.id(Shape::Chat), "chatcmpl-emu00000007");
        assert_eq!(call.id(Shape::Messages), "msg_emu00000007");
    }
}
