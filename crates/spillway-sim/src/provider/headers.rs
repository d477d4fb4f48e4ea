//! Response headers, written like the real providers write them (see
//! `shared/provider-headers.txt` for captures):
//!
//! | provider | rate-limit headers | reset | wait hint |
//! |---|---|---|---|
//! | OpenAI | `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` | Go duration to full, ms | `retry-after` s (sometimes) |
//! | Anthropic | `anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-*`, tokens remaining to the nearest 1000 | RFC 3339, whole s (rounded down) | `retry-after` s |
//! | Azure | `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` per sub-window, `x-ms-region` | integer s (rounded up) | `retry-after` s, `retry-after-ms` |
//! | Gemini | none | – | body only |
//! | generic | `X-RateLimit-{Limit,Remaining,Reset}` | Unix time, s (rounded up) | `Retry-After` s |
//!
//! Every response has a `Date` (whole seconds, rounded down), as real HTTP servers send.

use super::answer::{Wire, WireDim};
use super::calendar::{floor_second, http_date};
use super::format::{ceil_millis, ceil_secs, go_duration, nearest_thousand};
use spillway_core::Duration;
use spillway_core::upstream::headers::{Provider, UnixNanos};

/// The headers of a response, `Date` first.
pub(crate) fn render(wire: &Wire) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(16);
    let generic = wire.provider == Provider::Generic;
    out.push((if generic { "Date" } else { "date" }, http_date(wire.date)));
    let dims = wire.dims.iter().flatten();
    if wire.rate_headers {
        for d in dims {
            match wire.provider {
                Provider::Anthropic => anthropic(&mut out, wire.date, d),
                Provider::Azure => azure(&mut out, d),
                Provider::Generic => generic_dim(&mut out, wire.date, d),
                _ => openai(&mut out, d),
            }
        }
        if wire.provider == Provider::Azure {
            out.push(("x-ms-region", "eastus".to_string()));
        }
    }
    if let Some(wait) = wire.retry_after {
        match wire.provider {
            Provider::Azure => {
                out.push(("retry-after", ceil_secs(wait).to_string()));
                out.push(("retry-after-ms", ceil_millis(wait).to_string()));
            }
            Provider::Generic => out.push(("Retry-After", ceil_secs(wait).to_string())),
            _ => out.push(("retry-after", ceil_secs(wait).to_string())),
        }
    }
    out
}

/// Header names for the dimensions each family reports.
fn names(prefix: &str, dim: &str) -> Option<[&'static str; 3]> {
    const OPENAI: [(&str, [&str; 3]); 2] = [
        (
            "requests",
            [
                "x-ratelimit-limit-requests",
                "x-ratelimit-remaining-requests",
                "x-ratelimit-reset-requests",
            ],
        ),
        (
            "tokens",
            [
                "x-ratelimit-limit-tokens",
                "x-ratelimit-remaining-tokens",
                "x-ratelimit-reset-tokens",
            ],
        ),
    ];
    const ANTHROPIC: [(&str, [&str; 3]); 4] = [
        (
            "requests",
            [
                "anthropic-ratelimit-requests-limit",
                "anthropic-ratelimit-requests-remaining",
                "anthropic-ratelimit-requests-reset",
            ],
        ),
        (
            "input-tokens",
            [
                "anthropic-ratelimit-input-tokens-limit",
                "anthropic-ratelimit-input-tokens-remaining",
                "anthropic-ratelimit-input-tokens-reset",
            ],
        ),
        (
            "output-tokens",
            [
                "anthropic-ratelimit-output-tokens-limit",
                "anthropic-ratelimit-output-tokens-remaining",
                "anthropic-ratelimit-output-tokens-reset",
            ],
        ),
        (
            "tokens",
            [
                "anthropic-ratelimit-tokens-limit",
                "anthropic-ratelimit-tokens-remaining",
                "anthropic-ratelimit-tokens-reset",
            ],
        ),
    ];
    let table: &[(&str, [&'static str; 3])] = if prefix == "anthropic" {
        &ANTHROPIC
    } else {
        &OPENAI
    };
    table.iter().find(|(d, _)| *d == dim).map(|(_, n)| *n)
}

fn openai(out: &mut Vec<(&'static str, String)>, d: &WireDim) {
    if let Some([limit, remaining, reset]) = names("openai", d.name) {
        out.push((limit, d.limit.to_string()));
        out.push((remaining, d.remaining.max(0).to_string()));
        out.push((reset, go_duration(d.reset_after)));
    }
}

fn azure(out: &mut Vec<(&'static str, String)>, d: &WireDim) {
    if let Some([limit, remaining, reset]) = names("azure", d.name) {
        out.push((limit, d.limit.to_string()));
        // Azure really does send negative remaining (shared-capacity debt).
        out.push((remaining, d.remaining.to_string()));
        out.push((reset, ceil_secs(d.reset_after).to_string()));
    }
}

fn anthropic(out: &mut Vec<(&'static str, String)>, date: UnixNanos, d: &WireDim) {
    if let Some([limit, remaining, reset]) = names("anthropic", d.name) {
        let left = d.remaining.max(0);
        let shown = if d.name == "requests" {
            left
        } else {
            nearest_thousand(left)
        };
        out.push((limit, d.limit.to_string()));
        out.push((remaining, shown.to_string()));
        out.push((
            reset,
            floor_second(date.saturating_add(d.reset_after)).to_string(),
        ));
    }
}

fn generic_dim(out: &mut Vec<(&'static str, String)>, date: UnixNanos, d: &WireDim) {
    let reset_at = date.saturating_add(d.reset_after);
    let reset_s = ceil_secs(Duration::from_nanos(
        u64::try_from(reset_at.as_nanos().max(0)).unwrap_or(0),
    ));
    out.push(("X-RateLimit-Limit", d.limit.to_string()));
    out.push(("X-RateLimit-Remaining", d.remaining.max(0).to_string()));
    out.push(("X-RateLimit-Reset", reset_s.to_string()));
}
