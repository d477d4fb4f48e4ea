//! A call already sent upstream whose client goes away (axum drops the handler while it
//! awaits the upstream): the provider has the prompt, so the layers keep at least the prompt
//! charged, as for a stream whose client leaves. A call the upstream refused is released.

use super::store_outage::{LIMIT, meta, start, tokens_layer};
use spillway_core::engine::{EngineConfig, Response, UpstreamConfig};
use spillway_core::limit::{Layered, Subject};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_gateway::{ServeLayers, Step};

const PROMPT: u64 = 100;

/// The tokens left to the caller after one call of a `PROMPT`-token request is sent, answered
/// `answer` (or not at all), and its client leaves.
async fn remaining_after_leaving(answer: Option<Response>) -> u64 {
    let config = EngineConfig {
        max_in_flight: 1,
        max_requests: 10,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream: UpstreamConfig::reactive(BackoffConfig::default()),
    };
    let layers = ServeLayers::Local(Layered::new(tokens_layer()).unwrap());
    let rt = start(config, layers);
    let mut call = rt.admit(meta(0, PROMPT)).expect("admitted");
    assert!(matches!(call.next().await, Step::Send(_)), "sent upstream");
    if let Some(answer) = answer {
        call.respond(&answer);
    }
    drop(call); // the client disconnected
    let subject = Subject {
        user: 1,
        team: 0,
        feature: 0,
        api_key: 0,
    };
    let mut map = axum::http::HeaderMap::new();
    rt.rate_limit_headers(&subject, &mut map);
    rt.close();
    map["x-ratelimit-remaining-tokens"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_call_dropped_while_on_the_wire_still_counts_its_prompt() {
    let remaining = remaining_after_leaving(None).await;
    assert_eq!(
        remaining,
        LIMIT - PROMPT,
        "the prompt sent upstream was refunded: {remaining} of {LIMIT} remain"
    );
}

#[tokio::test]
async fn a_call_refused_upstream_then_dropped_is_released() {
    let refused = Response {
        accepted: false,
        status: 429,
        ..Response::default()
    };
    assert_eq!(remaining_after_leaving(Some(refused)).await, LIMIT);
}
