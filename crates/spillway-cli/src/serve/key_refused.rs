//! An upstream 401/403 refuses the gateway's own `upstream_key`, not the client's: the client
//! cannot fix it, and the provider's body names that key (OpenAI: "Incorrect API key
//! provided: sk-…abcd"), which no client may see, even masked. Such an answer is replaced by
//! the gateway's own 502 `upstream_key_refused` and logged for the operator, with the
//! provider's error code only (never its message).

use super::log_throttle::{Lapse, LogThrottle};
use super::proxy::{Gateway, Upstream};
use axum::http::StatusCode;
use axum::response::Response;
use spillway_core::Time;
use spillway_core::policy::base_url::shown as shown_url;
use spillway_gateway::headers;
use std::sync::Arc;

/// Whether an upstream `status` refuses the gateway's credential rather than the request.
pub(super) fn refuses_key(status: u16) -> bool {
    matches!(status, 401 | 403)
}

/// The client's 502 for an upstream that refused the gateway's key with `status`.
pub(super) fn response(to: &Upstream, status: u16) -> Response {
    let message = format!(
        "spillway serve: the upstream {} refused the gateway's own upstream key ({status}); \
the request itself was not at fault (the gateway's operator must fix `upstream_key`)",
        shown_url(&to.base)
    );
    // Final: a retry would send the same refused key again.
    headers::final_error(
        StatusCode::BAD_GATEWAY,
        &message,
        "server_error",
        "upstream_key_refused",
    )
}

/// Tell the operator that `to` refused its key now (`clock`'s time) with `status` and
/// `body`: at once the first time, then at most one line per [`super::log_throttle::PERIOD`]
/// for this upstream key, counting the refusals it stands for (a revoked key under load is
/// refused thousands of times a second). Refusals counted and followed by no other get their
/// line when the period lapses (a task waits for it), or at shutdown ([`tell_rest`]).
pub(super) fn tell_operator(to: &Upstream, status: u16, body: &[u8], clock: &Gateway) {
    match to.refusals.occurred(clock.now()) {
        Some(suppressed) => super::say(&log_line(to, status, body, suppressed)),
        None => {
            if let Some(due) = to.refusals.arm() {
                let upstream = shown_url(&to.base).into_owned();
                let refusals = Arc::clone(&to.refusals);
                tokio::spawn(tell_when_lapsed(refusals, upstream, clock.clone(), due));
            }
        }
    }
}

/// The armed wait of `refusals` ([`LogThrottle::arm`]): sleeps until the line is due, and
/// writes it unless one was written meanwhile. One per upstream key at a time; it sleeps at
/// least until the period lapses each time, so it never spins.
async fn tell_when_lapsed(
    refusals: Arc<LogThrottle>,
    upstream: String,
    clock: Gateway,
    mut due: Time,
) {
    loop {
        let wait = due.saturating_since(clock.now()).as_nanos();
        tokio::time::sleep(std::time::Duration::from_nanos(wait)).await;
        match refusals.lapsed(clock.now()) {
            Lapse::Wait(next) => due = next,
            Lapse::Line(n) => return super::say(&counted_line(&upstream, n, "")),
            Lapse::Done => return,
        }
    }
}

/// At shutdown: a line for `to`'s refusals counted since its last line, if any.
pub(super) fn tell_rest(to: &Upstream) {
    if let Some(n) = to.refusals.rest() {
        let upstream = shown_url(&to.base);
        super::say(&counted_line(&upstream, n, " (at shutdown)"));
    }
}

/// The line for `n` refusals of `upstream` (shown without credentials) counted since the last
/// line and followed by no other; `when` says what ended the count.
fn counted_line(upstream: &str, n: u64, when: &str) -> String {
    format!(
        "spillway serve: the upstream {upstream} refused the upstream key {n} more time{} since the last line; clients got 502 upstream_key_refused{when}\n",
        if n == 1 { "" } else { "s" }
    )
}

/// The operator's line for it: the upstream (without credentials), the status, and the
/// provider's `error.code` when it is a plain identifier (`invalid_api_key`); the message,
/// which names the key, is left out. `suppressed`: refusals since the last line that got none.
fn log_line(to: &Upstream, status: u16, body: &[u8], suppressed: u64) -> String {
    let code = provider_code(body).map_or(String::new(), |c| format!(" (code {c})"));
    let more = match suppressed {
        0 => String::new(),
        n => format!(" ({n} more since the last line)"),
    };
    format!(
        "spillway serve: the upstream {} refused the upstream key with {status}{code}; clients get 502 upstream_key_refused{more}\n",
        shown_url(&to.base)
    )
}

/// The body's `error.code`, if it is a short identifier (letters, digits, `_`, `-`, `.`):
/// anything else might carry a secret.
fn provider_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = value.get("error")?.get("code")?.as_str()?;
    let plain = code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    (plain && !code.is_empty() && code.len() <= 64 && !code.starts_with("sk-"))
        .then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openai() -> Upstream {
        Upstream::new(
            "https://user:pw@api.example.com".into(),
            Some("sk-secret-abcd".into()),
        )
    }

    #[test]
    fn only_401_and_403_refuse_the_key() {
        assert!(refuses_key(401) && refuses_key(403));
        for client_side in [400, 404, 409, 413, 422, 429] {
            assert!(!refuses_key(client_side), "{client_side}");
        }
    }

    #[test]
    fn the_log_line_names_the_code_but_never_the_message_nor_credentials() {
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-sec*****abcd","code":"invalid_api_key"}}"#;
        let line = log_line(&openai(), 401, body, 0);
        assert!(
            line.contains("401") && line.contains("(code invalid_api_key)"),
            "{line}"
        );
        assert!(!line.contains("more since"), "{line}");
        for secret in ["sk-", "abcd", "pw", "Incorrect"] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
    }

    #[test]
    fn a_line_standing_for_suppressed_refusals_says_how_many_and_no_more() {
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-sec*****abcd","code":"invalid_api_key"}}"#;
        let line = log_line(&openai(), 403, body, 37);
        assert!(
            line.ends_with("upstream_key_refused (37 more since the last line)\n"),
            "{line}"
        );
        assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
        for secret in ["sk-", "abcd", "pw", "Incorrect"] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
    }

    #[test]
    fn the_rest_told_at_shutdown_is_one_line_without_credentials() {
        let line = counted_line(&shown_url(&openai().base), 5, " (at shutdown)");
        assert!(
            line.ends_with("refused the upstream key 5 more times since the last line; clients got 502 upstream_key_refused (at shutdown)\n"),
            "{line}"
        );
        assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
        assert!(!line.contains("pw"), "{line}");
        assert!(counted_line("u", 1, "").contains(" 1 more time since"));
    }

    #[test]
    fn a_code_that_is_not_a_plain_identifier_is_left_out() {
        for code in ["sk-secret", "key sk abc", "", &"x".repeat(65)] {
            let body = serde_json::json!({"error": {"code": code}}).to_string();
            assert_eq!(provider_code(body.as_bytes()), None, "{code}");
        }
        assert_eq!(provider_code(b"not json"), None);
    }
}
