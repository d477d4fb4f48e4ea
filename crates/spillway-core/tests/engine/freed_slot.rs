//! A refused call frees its slot on the wire at once: the queue is looked at again, whether
//! the refused request gives up or waits for its own retry.

use super::plain::{Plain, admit, answer, config, engine_with};
use spillway_core::engine::{Dispatch, EngineConfig, UpstreamConfig};
use spillway_core::upstream::{BackoffConfig, BackoffStrategy};
use spillway_core::{Duration, Time};

/// One call on the wire at most, two requests queued at 0; the first is sent.
fn two_queued_one_sent(upstream: UpstreamConfig) -> (Plain, Dispatch<u64>) {
    let mut e = engine_with(EngineConfig {
        max_requests: 8,
        ..config(1, upstream)
    });
    for user in 0..2 {
        admit(&mut e, Time::ZERO, user);
    }
    let first = e.poll_dispatch(Time::ZERO).expect("the first goes at once");
    assert!(
        e.poll_dispatch(Time::ZERO).is_none(),
        "one call on the wire at most"
    );
    (e, first)
}

/// A refused request out of attempts leaves; its slot goes to the next queued request at
/// once (nothing else would wake the engine: no timer is pending).
#[test]
fn a_refusal_that_gives_up_frees_its_slot_for_the_queue() {
    let one_attempt = BackoffConfig::new(
        BackoffStrategy::Constant,
        Duration::from_millis(100),
        Duration::from_millis(100),
        1,
    )
    .expect("valid");
    let (mut e, first) = two_queued_one_sent(UpstreamConfig::reactive(one_attempt));
    e.on_response(Time::ZERO, first.id, &answer(false, 500, None));
    assert_eq!(
        (e.in_flight(), e.len()),
        (0, 1),
        "the first gave up and left"
    );
    let second = e.poll_dispatch(Time::ZERO);
    assert!(
        second.is_some(),
        "the slot is free but nothing is sent; poll_timeout = {:?}",
        e.poll_timeout()
    );
}

/// With `coordinated: false` (the SDK presets: a 429 pauses no other request) the refused
/// request waits out its own Retry-After; the queue behind it does not.
#[test]
fn an_uncoordinated_429_does_not_pause_the_queue() {
    let mut upstream = UpstreamConfig::reactive(BackoffConfig::default());
    upstream.coordinated = false;
    let (mut e, first) = two_queued_one_sent(upstream);
    e.on_response(
        Time::ZERO,
        first.id,
        &answer(false, 429, Some(Duration::from_secs(30))),
    );
    let second = e.poll_dispatch(Time::ZERO);
    assert!(
        second.is_some_and(|d| d.id != first.id),
        "the second request waits for the first one's 30 s (next timer {:?})",
        e.poll_timeout()
    );
}
