//! [`RateLimitSnapshot`]: what one response's headers said, in one provider-neutral shape, and
//! its JSON form for `spillway inspect-headers`.
//!
//! Waits are relative [`Duration`]s measured from the response's `Date` (never from our clock),
//! so a caller turns them into its own [`crate::Time`] by adding them to the instant it received
//! the response. Absolute instants are kept beside them for display.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::dimension::Dimension;
use super::error::HeaderError;
use super::provider::Provider;
use super::unix_nanos::UnixNanos;
use crate::time::Duration;

/// One dimension's numbers. `None` everywhere means "not sent" or "sent as unknown" (`-1`);
/// the dimension's presence in [`RateLimitSnapshot::dims`] means the provider mentioned it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DimensionState {
    /// The limit (capacity of the bucket / window).
    pub limit: Option<u64>,
    /// What is left; negative when the provider reports consumption beyond the limit.
    pub remaining: Option<i64>,
    /// Time until the limit is fully replenished, from the response's `Date`; for OpenAI this
    /// is time-to-*full*, not a required wait.
    pub reset_after: Option<Duration>,
    /// The reset as a wall-clock instant, when the provider sent one (Anthropic, Unix times).
    pub reset_at: Option<UnixNanos>,
    /// Fraction of the limit used, in parts per million (Anthropic `unified-*-utilization`).
    pub utilization_ppm: Option<u64>,
}

/// Everything rate-limit related in one response's headers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitSnapshot {
    /// The provider hint, or with [`Provider::Auto`] the provider inferred from header names
    /// ([`Provider::Generic`] if nothing identified one). Never `Auto`.
    pub provider: Provider,
    /// The date absolute times were measured from: the response's `Date` if valid, else the
    /// caller's fallback.
    pub date: Option<UnixNanos>,
    /// The server's wait hint: `retry-after-ms` if valid (more precise), else `retry-after`.
    pub retry_after: Option<Duration>,
    /// The hint as an instant, when `retry-after` was an HTTP-date.
    pub retry_at: Option<UnixNanos>,
    /// `x-should-retry` (OpenAI): whether the server says the call may be retried. The
    /// official SDKs obey it over the status, and so does the engine.
    pub should_retry: Option<bool>,
    /// Per-dimension numbers, in [`Dimension`] order.
    pub dims: BTreeMap<Dimension, DimensionState>,
    /// Lower-case names of headers that carry no rate-limit data, in input order (so a user
    /// can see that `x-ratelimit-used` was not understood rather than silently dropped).
    pub ignored: Vec<String>,
    /// Every header that could not be used, in input order; [`super::parse_headers_strict`]
    /// fails with the first.
    pub errors: Vec<HeaderError>,
}

impl RateLimitSnapshot {
    /// An empty snapshot labelled `provider`.
    pub(crate) fn new(provider: Provider) -> Self {
        RateLimitSnapshot {
            provider,
            date: None,
            retry_after: None,
            retry_at: None,
            should_retry: None,
            dims: BTreeMap::new(),
            ignored: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The numbers of `dim`, if the provider mentioned it.
    pub fn dim(&self, dim: &Dimension) -> Option<&DimensionState> {
        self.dims.get(dim)
    }

    /// Whether the headers carried no rate-limit information at all.
    pub fn is_empty(&self) -> bool {
        self.dims.is_empty() && self.retry_after.is_none() && self.retry_at.is_none()
    }

    /// JSON with a fixed key order (the order of the fields above; dimensions by
    /// [`Dimension`] order), durations as integer `_ns`, instants as RFC 3339 strings, errors as
    /// their messages. Hand-written because the core takes no serde dependency; stable so CLI
    /// output can be diffed and golden-tested.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"provider\":");
        push_str(&mut out, self.provider.name());
        out.push_str(",\"date\":");
        push_instant(&mut out, self.date);
        out.push_str(",\"retry_after_ns\":");
        push_u64(&mut out, self.retry_after.map(Duration::as_nanos));
        out.push_str(",\"retry_at\":");
        push_instant(&mut out, self.retry_at);
        out.push_str(",\"should_retry\":");
        out.push_str(match self.should_retry {
            Some(true) => "true",
            Some(false) => "false",
            None => "null",
        });
        out.push_str(",\"dims\":{");
        for (i, (dim, state)) in self.dims.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(&mut out, dim.name());
            out.push(':');
            push_dim(&mut out, state);
        }
        out.push_str("},\"ignored\":");
        push_list(&mut out, self.ignored.iter().map(String::as_str));
        out.push_str(",\"errors\":");
        let messages: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        push_list(&mut out, messages.iter().map(String::as_str));
        out.push('}');
        out
    }
}

fn push_dim(out: &mut String, state: &DimensionState) {
    out.push_str("{\"limit\":");
    push_u64(out, state.limit);
    out.push_str(",\"remaining\":");
    match state.remaining {
        Some(n) => write!(out, "{n}").unwrap_or(()),
        None => out.push_str("null"),
    }
    out.push_str(",\"reset_after_ns\":");
    push_u64(out, state.reset_after.map(Duration::as_nanos));
    out.push_str(",\"reset_at\":");
    push_instant(out, state.reset_at);
    out.push_str(",\"utilization_ppm\":");
    push_u64(out, state.utilization_ppm);
    out.push('}');
}

fn push_u64(out: &mut String, value: Option<u64>) {
    match value {
        Some(n) => write!(out, "{n}").unwrap_or(()),
        None => out.push_str("null"),
    }
}

fn push_instant(out: &mut String, value: Option<UnixNanos>) {
    match value {
        Some(t) => push_str(out, &t.to_string()),
        None => out.push_str("null"),
    }
}

fn push_list<'a>(out: &mut String, items: impl Iterator<Item = &'a str>) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, item);
    }
    out.push(']');
}

/// A JSON string literal: quotes, backslashes and control characters escaped, everything else
/// (valid UTF-8 by construction) passed through.
pub(crate) fn push_str(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => write!(out, "\\u{:04x}", u32::from(c)).unwrap_or(()),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        push_str(&mut out, "a\"b\\c\nd\u{1}µ");
        assert_eq!(out, r#""a\"b\\c\nd\u0001µ""#);
    }

    #[test]
    fn empty_snapshot_json() {
        let s = RateLimitSnapshot::new(Provider::Generic);
        assert!(s.is_empty());
        assert_eq!(
            s.to_json(),
            r#"{"provider":"generic","date":null,"retry_after_ns":null,"retry_at":null,"should_retry":null,"dims":{},"ignored":[],"errors":[]}"#
        );
    }

    #[test]
    fn full_snapshot_json_has_a_fixed_order() {
        let mut s = RateLimitSnapshot::new(Provider::Anthropic);
        s.date = Some(UnixNanos::from_secs(1_755_780_060));
        s.retry_after = Some(Duration::from_secs(5));
        let state = DimensionState {
            limit: Some(96_000),
            remaining: Some(-5),
            reset_after: Some(Duration::ZERO),
            reset_at: Some(UnixNanos::from_secs(1_755_780_059)),
            utilization_ppm: None,
        };
        s.dims.insert(Dimension::Tokens, state);
        s.dims
            .insert(Dimension::Requests, DimensionState::default());
        s.should_retry = Some(false);
        s.ignored.push("content-type".into());
        s.errors.push(HeaderError::TooManyHeaders { limit: 1 });
        assert_eq!(
            s.to_json(),
            concat!(
                r#"{"provider":"anthropic","date":"2025-08-21T12:41:00Z","retry_after_ns":5000000000,"#,
                r#""retry_at":null,"should_retry":false,"dims":{"requests":{"limit":null,"remaining":null,"#,
                r#""reset_after_ns":null,"reset_at":null,"utilization_ppm":null},"tokens":{"#,
                r#""limit":96000,"remaining":-5,"reset_after_ns":0,"reset_at":"2025-08-21T12:40:59Z","#,
                r#""utilization_ppm":null}},"ignored":["content-type"],"#,
                r#""errors":["more than 1 headers: the rest were not read"]}"#
            )
        );
    }
}
