//! The engine's timers follow its live requests: a timer that became moot (the deadline of a
//! request sent long before it) does not stay pending until it would have fired.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::engine::{
    Admission, Completion, Engine, EngineConfig, NoSpend, RequestMeta, Response, UpstreamConfig,
};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_core::{Duration, Time};

/// 10,000 requests, each sent and completed at once, all with a one-hour deadline: the
/// timers pending stay a small multiple of the requests inside, not one per arrival.
#[test]
fn deadlines_of_sent_requests_do_not_pile_up() {
    let config = EngineConfig {
        max_in_flight: 4,
        max_requests: 16,
        deadlines: vec![Some(Duration::from_secs(3_600)); 4],
        scheduler: SchedulerConfig::default(),
        upstream: UpstreamConfig::reactive(BackoffConfig::default()),
    };
    let layers = Layered::new(Vec::<LayerSpec>::new()).expect("no layers");
    let rng = |s| ChaCha8Rng::seed_from_u64(s);
    let mut e: Engine<u64, _, _, _> =
        Engine::new(config, layers, NoSpend, rng(1), rng(2)).expect("valid engine");
    let ok = Response {
        accepted: true,
        status: 200,
        retry_after: None,
        body_retry_after: None,
        snapshot: None,
    };
    let done = Completion {
        input_tokens: 10,
        output_tokens: 10,
        failed: false,
    };
    let mut most = 0;
    for user in 0..10_000u64 {
        let now = Time::from_nanos(user * 1_000_000);
        let meta = RequestMeta {
            user,
            team: 0,
            feature: 0,
            class: 0,
            input_tokens: 10,
            output_estimate: 10,
            max_tokens: 10,
            payload: user,
        };
        assert!(matches!(e.on_request(now, meta), Admission::Accepted(_)));
        while let Some(d) = e.poll_dispatch(now) {
            e.on_response(now, d.id, &ok);
            e.on_complete(now, d.id, done);
        }
        most = most.max(e.timers_pending());
    }
    assert_eq!(e.len(), 0, "every request completed");
    assert!(
        most <= 100,
        "{most} timers pending for at most one live request"
    );
}
