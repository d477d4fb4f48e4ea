//! Where a wait hint came from matters: the SDK presets read headers only (as the official
//! SDKs do), a generic policy also takes a hint from the error body.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::engine::{
    Admission, Engine, EngineConfig, NoSpend, RequestMeta, Response, UpstreamConfig,
};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::{BackoffConfig, ClientPreset};
use spillway_core::{Duration, Time};

const HINT: Duration = Duration::from_secs(30);

/// When the retry of a request whose first call got `refusal` goes out.
fn retry_sent_at(backoff: BackoffConfig, refusal: &Response) -> Time {
    let mut upstream = UpstreamConfig::reactive(backoff);
    upstream.coordinated = false;
    let config = EngineConfig {
        max_in_flight: 1,
        max_requests: 4,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream,
    };
    let layers = Layered::new(Vec::<LayerSpec>::new()).expect("no layers");
    let rng = |s| ChaCha8Rng::seed_from_u64(s);
    let mut engine: Engine<u64, _, _, _> =
        Engine::new(config, layers, NoSpend, rng(1), rng(2)).expect("valid engine");
    let meta = RequestMeta {
        user: 1,
        team: 0,
        feature: 0,
        class: 0,
        input_tokens: 10,
        output_estimate: 10,
        max_tokens: 10,
        payload: 0,
    };
    assert!(matches!(
        engine.on_request(Time::ZERO, meta),
        Admission::Accepted(_)
    ));
    let first = engine.poll_dispatch(Time::ZERO).expect("sent at once");
    engine.on_response(Time::ZERO, first.id, refusal);
    let mut now = Time::ZERO;
    loop {
        if let Some(retry) = engine.poll_dispatch(now) {
            assert_eq!(retry.attempt, 2);
            return now;
        }
        now = engine.poll_timeout().expect("a retry is pending");
        engine.handle_timeout(now);
    }
}

fn refused(header: Option<Duration>, body: Option<Duration>) -> Response {
    Response {
        accepted: false,
        status: 429,
        retry_after: header,
        body_retry_after: body,
        snapshot: None,
    }
}

fn secs(t: Time) -> Duration {
    t.saturating_since(Time::ZERO)
}

#[test]
fn an_sdk_preset_ignores_a_body_hint_and_obeys_a_header_one() {
    for preset in ClientPreset::ALL {
        let backoff = preset.backoff();
        let body_only = secs(retry_sent_at(backoff, &refused(None, Some(HINT))));
        // The SDK backs off: 0.5 s with up to 25 % jitter.
        assert!(
            body_only >= Duration::from_millis(375) && body_only <= Duration::from_millis(500),
            "{}: retried after {body_only:?}",
            preset.name()
        );
        let header = secs(retry_sent_at(backoff, &refused(Some(HINT), None)));
        assert_eq!(header, HINT, "{}", preset.name());
    }
}

#[test]
fn a_generic_policy_still_takes_a_body_hint() {
    let body_only = secs(retry_sent_at(
        BackoffConfig::default(),
        &refused(None, Some(HINT)),
    ));
    assert!(body_only >= HINT, "retried after {body_only:?}");
    let ignores = BackoffConfig::default().with_body_hints(false);
    let backed_off = secs(retry_sent_at(ignores, &refused(None, Some(HINT))));
    assert!(backed_off < HINT, "retried after {backed_off:?}");
}
