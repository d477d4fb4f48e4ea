//! A client's request body, read into what the provider model needs: the model name, input
//! tokens, `max_tokens`, the output it will get and whether to stream.
//!
//! Token rules (stated, not measured: no tokenizer here):
//! - **input** = ⌈characters of prompt text / 4⌉, at least 1 (OpenAI's own rule of thumb);
//!   prompt text is every string in `messages[].content` (string or `[{text}]` parts) and
//!   `system` (Anthropic), `prompt` (completions) or `input` (embeddings);
//! - **output** = `max_completion_tokens` / `max_tokens` when given, else
//!   [`DEFAULT_OUTPUT_TOKENS`] (chat) or 16 (completions, OpenAI's default); embeddings 0.
//!   The emulated model always writes exactly that many tokens, and `max_tokens` is what the
//!   provider reserves.

use serde_json::Value;

/// Output tokens of a chat completion that names no `max_tokens`.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 64;
/// Largest `max_tokens` accepted (above: 400, as the real APIs refuse absurd values).
pub const MAX_OUTPUT_TOKENS: u64 = 1_000_000;
/// Characters per estimated token.
const CHARS_PER_TOKEN: u64 = 4;

/// Which API shape a request came in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// OpenAI `POST /v1/chat/completions`.
    Chat,
    /// OpenAI `POST /v1/completions`.
    Completion,
    /// OpenAI `POST /v1/embeddings`.
    Embedding,
    /// Anthropic `POST /v1/messages`.
    Messages,
}

/// What the emulator needs of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The API shape.
    pub shape: Shape,
    /// The model asked for (echoed back).
    pub model: String,
    /// Estimated prompt tokens.
    pub input_tokens: u64,
    /// What the provider reserves for output.
    pub max_tokens: u64,
    /// Whether the body named it (`max_tokens` or `max_completion_tokens`): a gateway in front
    /// of a real model estimates an unnamed one from the model, not from the emulator's default.
    pub max_tokens_named: bool,
    /// What the emulated model writes.
    pub output_tokens: u64,
    /// `stream: true`.
    pub stream: bool,
    /// `stream_options.include_usage: true` (OpenAI).
    pub include_usage: bool,
}

/// Why a request was refused with 400: the message and the offending parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRequest {
    /// What is wrong and what is allowed.
    pub message: String,
    /// The parameter (`model`, `messages`, …), if one.
    pub param: Option<&'static str>,
}

fn bad(param: Option<&'static str>, message: impl Into<String>) -> BadRequest {
    BadRequest {
        message: message.into(),
        param,
    }
}

/// Read a request body of `shape`.
pub fn parse(shape: Shape, body: &[u8]) -> Result<Parsed, BadRequest> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        bad(
            None,
            format!("We could not parse the JSON body of your request: {e}"),
        )
    })?;
    let Some(obj) = v.as_object() else {
        return Err(bad(None, "the request body must be a JSON object"));
    };
    let model = match obj.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(_) => return Err(bad(Some("model"), "`model` must be a non-empty string")),
        None => return Err(bad(Some("model"), "you must provide a model parameter")),
    };
    let (text_chars, default_out) = match shape {
        Shape::Chat => (messages_chars(obj.get("messages"))?, DEFAULT_OUTPUT_TOKENS),
        Shape::Messages => {
            let system = obj.get("system").map_or(0, text_chars);
            (system + messages_chars(obj.get("messages"))?, 0)
        }
        Shape::Completion => (required_text(obj.get("prompt"), "prompt")?, 16),
        Shape::Embedding => (required_text(obj.get("input"), "input")?, 0),
    };
    let max_tokens = max_tokens(obj, shape)?;
    let output_tokens = match shape {
        Shape::Embedding => 0,
        _ => max_tokens.unwrap_or(default_out),
    };
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b && shape != Shape::Embedding,
        Some(_) => return Err(bad(Some("stream"), "`stream` must be true or false")),
    };
    let include_usage = obj
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Parsed {
        shape,
        model,
        input_tokens: text_chars.div_ceil(CHARS_PER_TOKEN).max(1),
        max_tokens: output_tokens,
        max_tokens_named: max_tokens.is_some(),
        output_tokens,
        stream,
        include_usage,
    })
}

/// `max_completion_tokens` or `max_tokens` (required by Anthropic), checked.
fn max_tokens(
    obj: &serde_json::Map<String, Value>,
    shape: Shape,
) -> Result<Option<u64>, BadRequest> {
    let (name, value) = match obj.get("max_completion_tokens") {
        Some(v) if !v.is_null() => ("max_completion_tokens", Some(v)),
        _ => ("max_tokens", obj.get("max_tokens").filter(|v| !v.is_null())),
    };
    let Some(value) = value else {
        if shape == Shape::Messages {
            return Err(bad(Some("max_tokens"), "max_tokens: Field required"));
        }
        return Ok(None);
    };
    match value.as_u64() {
        Some(n) if (1..=MAX_OUTPUT_TOKENS).contains(&n) => Ok(Some(n)),
        _ => Err(bad(
            Some(if name == "max_tokens" {
                "max_tokens"
            } else {
                "max_completion_tokens"
            }),
            format!("`{name}` must be a whole number from 1 to {MAX_OUTPUT_TOKENS}"),
        )),
    }
}

fn messages_chars(messages: Option<&Value>) -> Result<u64, BadRequest> {
    match messages {
        Some(Value::Array(list)) if !list.is_empty() => Ok(list
            .iter()
            .map(|m| m.get("content").map_or(0, text_chars))
            .fold(0, u64::saturating_add)),
        Some(Value::Array(_)) => Err(bad(Some("messages"), "`messages` must not be empty")),
        Some(_) => Err(bad(Some("messages"), "`messages` must be an array")),
        None => Err(bad(
            Some("messages"),
            "you must provide a messages parameter",
        )),
    }
}

fn required_text(v: Option<&Value>, name: &'static str) -> Result<u64, BadRequest> {
    v.map(text_chars)
        .ok_or_else(|| bad(Some(name), format!("you must provide a {name} parameter")))
}

/// Characters of text in a content value: a string, `{text}` parts, or lists of them.
fn text_chars(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.chars().count() as u64,
        Value::Array(items) => items.iter().map(text_chars).fold(0, u64::saturating_add),
        Value::Object(o) => o.get("text").map_or(0, text_chars),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_the_stated_rule() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":"abcdefghi"},{"role":"user","content":[{"type":"text","text":"abc"}]}],"max_tokens":7}"#;
        let p = parse(Shape::Chat, body).expect("valid");
        assert_eq!((p.input_tokens, p.max_tokens, p.output_tokens), (3, 7, 7));
        let p = parse(Shape::Chat, br#"{"model":"m","messages":[{"content":""}]}"#).expect("ok");
        assert_eq!(
            (p.input_tokens, p.output_tokens),
            (1, DEFAULT_OUTPUT_TOKENS)
        );
        let p = parse(
            Shape::Embedding,
            br#"{"model":"e","input":["abcd","efgh"]}"#,
        )
        .expect("ok");
        assert_eq!((p.input_tokens, p.output_tokens), (2, 0));
    }

    #[test]
    fn bad_requests_name_the_parameter() {
        let cases: [(Shape, &[u8], Option<&str>); 7] = [
            (Shape::Chat, b"{not json", None),
            (Shape::Chat, b"[1]", None),
            (
                Shape::Chat,
                br#"{"messages":[{"content":"x"}]}"#,
                Some("model"),
            ),
            (Shape::Chat, br#"{"model":"m"}"#, Some("messages")),
            (
                Shape::Chat,
                br#"{"model":"m","messages":[{"content":"x"}],"max_tokens":-1}"#,
                Some("max_tokens"),
            ),
            (
                Shape::Messages,
                br#"{"model":"m","messages":[{"content":"x"}]}"#,
                Some("max_tokens"),
            ),
            (Shape::Completion, br#"{"model":"m"}"#, Some("prompt")),
        ];
        for (shape, body, param) in cases {
            let err = parse(shape, body).expect_err("must be refused");
            assert_eq!(err.param, param, "{}", String::from_utf8_lossy(body));
        }
    }
}
