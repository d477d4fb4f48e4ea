//! The engine's timers follow its live requests: a timer that became moot (the deadline of a
//! request sent long before it) does not stay pending until it would have fired.

use super::plain::{admit, answer, config, engine_with};
use spillway_core::engine::{Completion, EngineConfig, UpstreamConfig};
use spillway_core::upstream::BackoffConfig;
use spillway_core::{Duration, Time};

/// 10,000 requests, each sent and completed at once, all with a one-hour deadline: the
/// timers pending stay a small multiple of the requests inside, not one per arrival.
#[test]
fn deadlines_of_sent_requests_do_not_pile_up() {
    let mut e = engine_with(EngineConfig {
        max_requests: 16,
        deadlines: vec![Some(Duration::from_secs(3_600)); 4],
        ..config(4, UpstreamConfig::reactive(BackoffConfig::default()))
    });
    let ok = answer(true, 200, None);
    let done = Completion {
        input_tokens: 10,
        output_tokens: 10,
        failed: false,
    };
    let mut most = 0;
    for user in 0..10_000u64 {
        let now = Time::from_nanos(user * 1_000_000);
        admit(&mut e, now, user);
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
