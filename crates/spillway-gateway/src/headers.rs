//! HTTP words of the gateway: the `x-ratelimit-*` headers of the caller's tightest layer, the
//! OpenAI-style error bodies, and the upstream's answer read for the engine.

use crate::runtime::Refusal;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use spillway_core::engine::{Departure, Rejection, SpendRefusal};
use spillway_core::limit::{LayerRoom, Subject, Unit};
use spillway_core::upstream::headers::{Provider, parse_headers};
use spillway_core::{Duration, Time};

/// The OpenAI-style `x-ratelimit-*` headers for the tightest layer of each unit (least room as
/// a share of its limit; the first such layer on a tie). Layers of a unit that is absent add
/// no headers of that unit.
pub fn rate_limit_headers(room: &[LayerRoom], now: Time, map: &mut HeaderMap) {
    for (unit, suffix) in [(Unit::Requests, "requests"), (Unit::Tokens, "tokens")] {
        let Some(tightest) = room
            .iter()
            .filter(|r| r.unit == unit)
            .min_by_key(|r| (r.share_ppm(), r.index))
        else {
            continue;
        };
        let reset = go_duration(tightest.full_at.saturating_since(now));
        let values = [
            ("limit", tightest.limit.to_string()),
            ("remaining", tightest.remaining.to_string()),
            ("reset", reset),
        ];
        for (what, value) in values {
            let name = format!("x-ratelimit-{what}-{suffix}");
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                map.insert(n, v);
            }
        }
    }
}

/// A duration as OpenAI writes resets: `850ms`, `1.5s`, `6m0s`, `1h2m3s`.
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_nanos().div_ceil(1_000_000);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m) = (ms / 3_600_000, ms / 60_000 % 60);
    let (s, frac) = (ms / 1000 % 60, ms % 1000);
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        let frac = format!("{frac:03}");
        format!("{s}.{}s", frac.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

/// An OpenAI-style error response.
pub fn error(status: StatusCode, message: &str, kind: &str, code: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// OpenAI's header telling a client whether to send a request again; its SDKs obey it over
/// the status.
pub const SHOULD_RETRY: &str = "x-should-retry";

/// [`error`] with `x-should-retry: false`: for an answer no client retry can mend, or one the
/// provider may already bill (a call lost on the wire), which the openai and anthropic SDKs
/// would otherwise send twice more as they do any 5xx.
pub fn final_error(status: StatusCode, message: &str, kind: &str, code: &str) -> Response {
    let mut response = error(status, message, kind, code);
    response
        .headers_mut()
        .insert(SHOULD_RETRY, axum::http::HeaderValue::from_static("false"));
    response
}

/// The header a gateway 429 carries, naming the blocking layers (comma-separated), so that a
/// client (`spillway load`) tells the gateway's refusals from the provider's.
pub const REJECTED_BY: &str = "x-spillway-rejected-by";

/// The 429 (or 503: the gateway is full, or a shared store did not answer) for a request
/// refused at the door: `retry-after` in whole seconds (rounded up, at least 1),
/// [`REJECTED_BY`], and a body naming every blocking layer (or the store).
pub fn refused(refusal: &Refusal, layer_names: &[String]) -> Response {
    refused_naming(refusal, layer_names, None)
}

/// The budget cap that refused a request, as its 429 names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetCap {
    /// The cap's name in the policy.
    pub name: String,
}

/// [`refused`], naming `cap` when the budget refused: the body's `blocking` is the cap's name.
/// `retry-after` is [`Refusal::retry_after`] either way: a cap's refusal carries its reset.
pub fn refused_naming(
    refusal: &Refusal,
    layer_names: &[String],
    cap: Option<&BudgetCap>,
) -> Response {
    let wait = refusal.retry_after();
    let secs = wait.as_nanos().div_ceil(1_000_000_000).max(1);
    let (status, message, blocking) = match refusal.why {
        why if crate::is_store_outage(&why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "The store of the shared rate limits did not answer: refused rather than admitted unchecked; retry after {secs}s"
            ),
            vec![crate::STORE_UNAVAILABLE],
        ),
        Rejection::Layers { blocking, .. } => {
            let names: Vec<&str> = blocking
                .iter()
                .filter_map(|i| layer_names.get(i).map(String::as_str))
                .collect();
            let message = format!(
                "Rate limit reached: blocked by layer{} {}; retry after {secs}s",
                if names.len() == 1 { "" } else { "s" },
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (StatusCode::TOO_MANY_REQUESTS, message, names)
        }
        Rejection::Budget(SpendRefusal::Unavailable) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "The store of the shared budget did not answer: refused rather than spent blind; retry after {secs}s"
            ),
            vec![spillway_core::limit::refusal_labels::BUDGET],
        ),
        Rejection::Budget(_) => match cap {
            Some(c) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Budget cap `{}` reached; retry after {secs}s", c.name),
                vec![c.name.as_str()],
            ),
            None => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Budget refused (no cap has room, or no usable upstream key); retry after {secs}s"
                ),
                vec![spillway_core::limit::refusal_labels::BUDGET],
            ),
        },
        Rejection::Full => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "The gateway holds as many requests as it is configured to; retry after {secs}s"
            ),
            vec![],
        ),
        Rejection::NeverFits => (
            StatusCode::BAD_REQUEST,
            "This request is larger than a limit of the policy can ever admit".to_string(),
            vec![],
        ),
    };
    // An outage is the gateway's error, not the client's rate: SDKs tell them apart by these.
    let (kind, code) = if crate::is_store_outage(&refusal.why) {
        ("server_error", crate::STORE_UNAVAILABLE)
    } else {
        ("rate_limit_error", "rate_limit_exceeded")
    };
    let body = json!({"error": {
        "message": message, "type": kind, "param": null,
        "code": code, "blocking": blocking,
        "layer": blocking.first().copied().unwrap_or_default(),
        "retry_after_ms": wait.as_nanos() / 1_000_000,
    }});
    let mut resp = (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::try_from(secs.to_string()) {
        resp.headers_mut().insert("retry-after", v);
    }
    if let Ok(v) = HeaderValue::try_from(blocking.join(","))
        && !blocking.is_empty()
    {
        resp.headers_mut().insert(REJECTED_BY, v);
    }
    resp
}

/// The answer for a request that left the engine without a successful call.
pub fn departed(how: Departure) -> Response {
    let (status, message, code) = match how {
        Departure::Shed => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The gateway's queue shed this request under load",
            "shed",
        ),
        Departure::Abandoned => (
            StatusCode::GATEWAY_TIMEOUT,
            "The request waited past its class's deadline in the gateway (queued, or held by a budget)",
            "queue_deadline",
        ),
        _ => (
            StatusCode::BAD_GATEWAY,
            "The upstream did not answer successfully within the policy's attempts",
            "upstream_failed",
        ),
    };
    error(status, message, "server_error", code)
}

/// The upstream's status and headers as the engine reads them (rate-limit headers and
/// Retry-After parsed with core's parser). The provider is inferred from the headers, not
/// assumed: their names and reset formats tell OpenAI, Anthropic and Azure apart, and the
/// headroom model reads an Azure reset as a countdown to a fixed boundary, an OpenAI one as a
/// continuous refill.
pub fn upstream_response(status: u16, headers: &HeaderMap) -> spillway_core::engine::Response {
    let snapshot = parse_headers(
        headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
        Provider::Auto,
        None,
    );
    spillway_core::engine::Response {
        accepted: (200..300).contains(&status),
        status,
        retry_after: snapshot.retry_after,
        // Error bodies are relayed to the client, not parsed: only headers hint here.
        body_retry_after: None,
        snapshot: Some(Box::new(snapshot)),
    }
}

/// Limiter layers that can say how much room a subject has (for the `x-ratelimit-*` headers).
pub trait Rooms {
    /// Every layer's room for `subject` at `now`, in layer order.
    fn room(&self, now: Time, subject: &Subject) -> Vec<LayerRoom>;
}

impl Rooms for spillway_core::limit::Layered {
    fn room(&self, now: Time, subject: &Subject) -> Vec<LayerRoom> {
        spillway_core::limit::Layered::room(self, now, subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_are_written_as_openai_writes_them() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(Duration::ZERO), "0ms");
        assert_eq!(go_duration(ms(850)), "850ms");
        assert_eq!(go_duration(ms(1500)), "1.5s");
        assert_eq!(go_duration(ms(360_000)), "6m0s");
        assert_eq!(go_duration(ms(3_723_000)), "1h2m3s");
    }

    #[test]
    fn the_tightest_layer_is_the_one_with_least_room_and_core_parses_it_back() {
        let now = Time::ZERO;
        let at = |s| now.saturating_add(Duration::from_secs(s));
        let room = [
            LayerRoom {
                index: 0,
                unit: Unit::Requests,
                limit: 1000,
                remaining: 900,
                full_at: at(1),
            },
            LayerRoom {
                index: 1,
                unit: Unit::Requests,
                limit: 10,
                remaining: 2,
                full_at: at(30),
            },
            LayerRoom {
                index: 2,
                unit: Unit::Tokens,
                limit: 5000,
                remaining: 5000,
                full_at: now,
            },
        ];
        let mut map = HeaderMap::new();
        rate_limit_headers(&room, now, &mut map);
        assert_eq!(map["x-ratelimit-limit-requests"], "10");
        assert_eq!(map["x-ratelimit-remaining-requests"], "2");
        assert_eq!(map["x-ratelimit-reset-requests"], "30s");
        assert_eq!(map["x-ratelimit-remaining-tokens"], "5000");
        let parsed = upstream_response(200, &map);
        let snapshot = parsed.snapshot.expect("parsed");
        assert!(snapshot.errors.is_empty(), "{:?}", snapshot.errors);
        assert_eq!(snapshot.dims.len(), 2);
    }

    #[test]
    fn a_refusal_names_its_layers_and_rounds_retry_after_up() {
        let refusal = Refusal {
            why: Rejection::Layers {
                blocking: spillway_core::limit::LayerSet::single(1),
                retry_at: Time::ZERO.saturating_add(Duration::from_millis(1200)),
            },
            at: Time::ZERO,
        };
        let resp = refused(&refusal, &["global".into(), "per-user".into()]);
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()["retry-after"], "2");
        assert_eq!(resp.headers()[REJECTED_BY], "per-user");
    }

    /// Before, a refusal that named no cap (the layer's) told the client "retry after 1s"
    /// although the refusal carries when the cap resets.
    #[test]
    fn a_budget_refusal_waits_for_its_caps_reset() {
        let refusal = Refusal {
            why: Rejection::Budget(SpendRefusal::Cap {
                cap: None,
                reset_at: Some(Time::ZERO.saturating_add(Duration::from_secs(90))),
            }),
            at: Time::ZERO.saturating_add(Duration::from_millis(500)),
        };
        let resp = refused(&refusal, &[]);
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()["retry-after"], "90");
    }

    /// An Azure deployment behind serve is read as Azure (its resets count down to a fixed
    /// boundary), an OpenAI one as OpenAI: before, every upstream was parsed as OpenAI, and the
    /// headroom model read Azure's fixed windows as continuous ones.
    #[test]
    fn the_upstream_provider_is_read_from_its_headers() {
        use spillway_core::upstream::headers::Provider;
        let provider = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for &(name, value) in pairs {
                headers.insert(name, value.parse().expect("a header value"));
            }
            let snapshot = upstream_response(200, &headers)
                .snapshot
                .expect("a snapshot");
            snapshot.provider
        };
        let azure = [
            ("x-ratelimit-remaining-requests", "17"),
            ("x-ratelimit-reset-requests", "9"),
        ];
        assert_eq!(provider(&azure), Provider::Azure);
        let openai = [
            ("x-ratelimit-remaining-requests", "4999"),
            ("x-ratelimit-reset-requests", "12ms"),
        ];
        assert_eq!(provider(&openai), Provider::OpenAi);
    }
}
