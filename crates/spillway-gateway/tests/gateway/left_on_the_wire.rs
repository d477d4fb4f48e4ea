//! A call already sent upstream whose client goes away (axum drops the handler while it
//! awaits the upstream): the provider has the prompt, so the layers keep at least the prompt
//! charged, as for a stream whose client leaves. A call the upstream refused is released.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use spillway_core::Duration;
use spillway_core::engine::{Engine, EngineConfig, NoSpend, RequestMeta, Response, UpstreamConfig};
use spillway_core::limit::{Algorithm, LayerSpec, Layered, LimitSpec, Scope, Subject, Unit};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_gateway::{Runtime, ServeLayers, Step};

const LIMIT: u64 = 300;
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
    let layer = LayerSpec {
        name: "tokens".into(),
        scope: Scope::User,
        unit: Unit::Tokens,
        limit: LimitSpec {
            algorithm: Algorithm::TokenBucket,
            limit: LIMIT,
            window: Duration::from_secs(3600),
            burst: None,
        },
    };
    let layers = ServeLayers::Local(Layered::new(vec![layer]).unwrap());
    let rng = || ChaCha8Rng::seed_from_u64(1);
    let engine = Engine::new(config, layers, NoSpend, rng(), rng()).unwrap();
    let rt = Runtime::start(engine, vec!["tokens".into()]);
    let meta = RequestMeta {
        user: 1,
        team: 0,
        feature: 0,
        class: 0,
        input_tokens: PROMPT,
        output_estimate: 0,
        max_tokens: 0,
        payload: (),
    };
    let mut call = rt.admit(meta).expect("admitted");
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
