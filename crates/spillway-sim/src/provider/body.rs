//! Error bodies: the JSON a real provider sends with a 429, 503/529 or outage status, so an
//! HTTP driver of [`super::EmulatedProvider`] (`spillway emulate`) answers with the same text a
//! real client's error handling meets (OpenAI's "Please try again in 84ms", Gemini's
//! `RetryInfo.retryDelay`, Anthropic's `rate_limit_error` / `overloaded_error`).
//!
//! Shapes from `shared/provider-semantics.md` (captured bodies, numbers ours). The simulator
//! itself never renders them: only status, headers and [`Answer::body_retry_delay`] matter to it.

use super::answer::{Answer, LimitedBy, Outcome};
use super::format::go_duration;
use spillway_core::Duration;
use spillway_core::upstream::headers::Provider;

impl Answer {
    /// The error body of a failed call as the provider writes it, `None` for an admitted call.
    /// `model` is the model the client asked for (quoted in OpenAI's messages).
    pub fn error_body(&self, model: &str) -> Option<String> {
        let model = model_name(model);
        Some(match self.outcome {
            Outcome::Accepted { .. } => return None,
            Outcome::RateLimited { by, never_fits, .. } => match self.wire.provider {
                Provider::Anthropic => anthropic("rate_limit_error", &self.anthropic_429(by)),
                Provider::Azure => azure_429(self.retry_after().unwrap_or(Duration::ZERO)),
                Provider::Gemini => self.gemini_429(by),
                Provider::Generic => openai("Too Many Requests", "requests", "rate_limit_exceeded"),
                _ => self.openai_429(&model, by, never_fits),
            },
            Outcome::Overloaded | Outcome::Unavailable => self.server_error(),
        })
    }

    /// The limit the headers report for `by`, if they report it.
    fn wire_limit(&self, by: LimitedBy) -> Option<u64> {
        let name = match by {
            LimitedBy::Requests | LimitedBy::Concurrency => "requests",
            LimitedBy::Tokens => "tokens",
            LimitedBy::InputTokens => "input-tokens",
            LimitedBy::OutputTokens => "output-tokens",
            _ => return None,
        };
        self.wire
            .dims
            .iter()
            .flatten()
            .find(|d| d.name == name)
            .map(|d| d.limit)
    }

    fn openai_429(&self, model: &str, by: LimitedBy, never_fits: bool) -> String {
        let (what, kind) = match by {
            LimitedBy::Tokens | LimitedBy::InputTokens | LimitedBy::OutputTokens => {
                ("tokens per min (TPM)", "tokens")
            }
            LimitedBy::RequestsPerDay => ("requests per day (RPD)", "requests"),
            LimitedBy::Concurrency => ("concurrent requests", "requests"),
            LimitedBy::Requests => ("requests per min (RPM)", "requests"),
        };
        let limit = self
            .wire_limit(by)
            .map(|l| format!(": Limit {l}"))
            .unwrap_or_default();
        let org = "in organization org-spillway-emulated";
        let message = if never_fits {
            format!(
                "Request too large for {model} {org} on {what}{limit}. The input or output tokens must be reduced in order to run successfully."
            )
        } else {
            let wait = self.body_retry_delay.or(self.wire.retry_after);
            let hint = wait.map_or(String::new(), |w| {
                format!(" Please try again in {}.", go_duration(w))
            });
            format!("Rate limit reached for {model} {org} on {what}{limit}.{hint}")
        };
        openai(&message, kind, "rate_limit_exceeded")
    }

    fn anthropic_429(&self, by: LimitedBy) -> String {
        let what = match by {
            LimitedBy::InputTokens => "input tokens per minute",
            LimitedBy::OutputTokens => "output tokens per minute",
            LimitedBy::Tokens => "tokens per minute",
            LimitedBy::Concurrency => "concurrent requests",
            _ => "requests per minute",
        };
        let limit = self
            .wire_limit(by)
            .map(|l| format!(" of {l}"))
            .unwrap_or_default();
        format!(
            "This request would exceed the rate limit for your organization{limit} {what}. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later."
        )
    }

    fn gemini_429(&self, by: LimitedBy) -> String {
        let quota = match by {
            LimitedBy::RequestsPerDay => "GenerateRequestsPerDayPerProjectPerModel",
            LimitedBy::Tokens | LimitedBy::InputTokens => {
                "GenerateContentInputTokensPerModelPerMinute"
            }
            _ => "GenerateRequestsPerMinutePerProjectPerModel",
        };
        let delay = protobuf_duration(self.body_retry_delay.unwrap_or(Duration::ZERO));
        format!(
            r#"{{"error":{{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. Please retry in {delay}.","status":"RESOURCE_EXHAUSTED","details":[{{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{{"quotaMetric":"generativelanguage.googleapis.com/generate_content_requests","quotaId":"{quota}"}}]}},{{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"{delay}"}}]}}}}"#
        )
    }

    fn server_error(&self) -> String {
        let overloaded = matches!(self.outcome, Outcome::Overloaded);
        match (self.wire.provider, overloaded) {
            (Provider::Anthropic, true) => anthropic("overloaded_error", "Overloaded"),
            (Provider::Anthropic, false) => anthropic("api_error", "Internal server error"),
            (Provider::Gemini, _) => format!(
                r#"{{"error":{{"code":{},"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}}}"#,
                self.status
            ),
            (_, true) => openai(
                "The server is overloaded or not ready yet.",
                "server_error",
                "server_is_overloaded",
            ),
            (_, false) => openai(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                "server_error",
            ),
        }
    }
}

/// OpenAI's `{"error": {message, type, param, code}}` (`message` already JSON-safe).
fn openai(message: &str, kind: &str, code: &str) -> String {
    format!(r#"{{"error":{{"message":"{message}","type":"{kind}","param":null,"code":"{code}"}}}}"#)
}

fn anthropic(kind: &str, message: &str) -> String {
    format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"{message}"}}}}"#)
}

fn azure_429(wait: Duration) -> String {
    let secs = super::format::ceil_secs(wait);
    format!(
        r#"{{"error":{{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after {secs} seconds."}}}}"#
    )
}

/// A protobuf `Duration` string as Gemini writes `retryDelay`: `59s`, `1.203608125s`.
fn protobuf_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let (s, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{}s", format!("{frac:09}").trim_end_matches('0'))
    }
}

/// Longest model name quoted in a message.
const MAX_MODEL_CHARS: usize = 200;

/// The model name as quoted in a message: model names are identifiers, so anything outside
/// `[A-Za-z0-9._:/@+-]` becomes `?` (which also keeps the JSON valid without escaping), at
/// most [`MAX_MODEL_CHARS`] characters.
fn model_name(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "._:/@+-".contains(c);
    text.chars()
        .take(MAX_MODEL_CHARS)
        .map(|c| if safe(c) { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_and_protobuf_durations() {
        assert_eq!(model_name("gpt-4o-mini"), "gpt-4o-mini");
        assert_eq!(model_name("a\"b\\c\n"), "a?b?c?");
        assert_eq!(model_name(&"x".repeat(1000)).len(), MAX_MODEL_CHARS);
        assert_eq!(protobuf_duration(Duration::from_secs(59)), "59s");
        assert_eq!(
            protobuf_duration(Duration::from_nanos(1_203_608_125)),
            "1.203608125s"
        );
        assert_eq!(protobuf_duration(Duration::from_millis(1500)), "1.5s");
    }
}
