//! What became of one request, read from the HTTP answer (or its absence).
//!
//! A 429 is the gateway's when it says so: the header [`REJECTED_BY_HEADER`] (its value names
//! the blocking layers) or a JSON error whose `code` starts with `spillway` (layer from
//! `error.layer`). Every other 429 is the provider's, passed through. Any answer that is not a
//! 200 carrying a chat completion (`choices` array) is a failure, with a short reason from a
//! small fixed vocabulary so that the reason counts stay bounded.

use serde_json::Value;

/// The header a gateway sets on its own 429 (value: the blocking layers, comma-separated).
pub const REJECTED_BY_HEADER: &str = "x-spillway-rejected-by";
/// The layer name used when a gateway rejection does not name one.
pub const UNNAMED_LAYER: &str = "gateway";
/// Longest layer name kept (longer are cut).
const MAX_LAYER_CHARS: usize = 64;

/// How a request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 200 with a chat completion.
    Completed,
    /// A 429 from the gateway: the layer that refused it.
    Rejected(String),
    /// A 429 from the provider (passed through by the gateway, or direct).
    Upstream429,
    /// Anything else: why (e.g. `HTTP 503`, `connection refused`, `timeout`).
    Failed(String),
}

/// Read an answer: status, the gateway header's value if present, and the body.
pub fn classify(status: u16, rejected_by: Option<&str>, body: &[u8]) -> Outcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if status == 429 {
        return match gateway_layer(rejected_by, json.as_ref()) {
            Some(layer) => Outcome::Rejected(layer),
            None => Outcome::Upstream429,
        };
    }
    if status != 200 {
        return Outcome::Failed(format!("HTTP {status}"));
    }
    let is_completion = json
        .as_ref()
        .and_then(|v| v.get("choices"))
        .is_some_and(Value::is_array);
    if is_completion {
        Outcome::Completed
    } else {
        Outcome::Failed("HTTP 200 without a chat completion body".to_string())
    }
}

/// The layer of a gateway rejection, or `None` for a provider's 429.
fn gateway_layer(header: Option<&str>, body: Option<&Value>) -> Option<String> {
    let cut = |s: &str| s.trim().chars().take(MAX_LAYER_CHARS).collect::<String>();
    if let Some(h) = header {
        let first = h.split(',').next().unwrap_or("");
        return Some(if first.trim().is_empty() {
            UNNAMED_LAYER.to_string()
        } else {
            cut(first)
        });
    }
    let error = body?.get("error")?;
    let code = error.get("code").and_then(Value::as_str)?;
    if !code.starts_with("spillway") {
        return None;
    }
    let layer = error.get("layer").and_then(Value::as_str).unwrap_or("");
    Some(if layer.trim().is_empty() {
        UNNAMED_LAYER.to_string()
    } else {
        cut(layer)
    })
}

/// The reason of a request that got no HTTP answer.
pub fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_string()
    } else if e.is_connect() {
        // Refused, unreachable or reset while connecting: say which when the OS said so.
        if io_kind(e) == Some(std::io::ErrorKind::ConnectionRefused) {
            "connection refused".to_string()
        } else {
            "cannot connect".to_string()
        }
    } else if e.is_body() || e.is_decode() {
        "broken response body".to_string()
    } else {
        "no valid HTTP answer".to_string()
    }
}

/// The kind of the first I/O error in `e`'s chain of causes.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cause = c.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_told_apart() {
        let ok = br#"{"choices":[{"message":{"content":"x"}}]}"#;
        assert_eq!(classify(200, None, ok), Outcome::Completed);
        assert_eq!(
            classify(200, None, b"garbage"),
            Outcome::Failed("HTTP 200 without a chat completion body".into())
        );
        let provider = br#"{"error":{"code":"rate_limit_exceeded","type":"requests"}}"#;
        assert_eq!(classify(429, None, provider), Outcome::Upstream429);
        assert_eq!(
            classify(429, Some("per-user, per-feature"), b""),
            Outcome::Rejected("per-user".into())
        );
        let gw = br#"{"error":{"code":"spillway_rate_limited","layer":"per-feature"}}"#;
        assert_eq!(
            classify(429, None, gw),
            Outcome::Rejected("per-feature".into())
        );
        assert_eq!(
            classify(429, Some(""), b""),
            Outcome::Rejected(UNNAMED_LAYER.into())
        );
        assert_eq!(classify(503, None, ok), Outcome::Failed("HTTP 503".into()));
    }
}
