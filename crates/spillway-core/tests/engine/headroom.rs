//! Proactive headroom as the engine wires it: a send is charged to the model when it is
//! dispatched, and a snapshot describes the provider as of its request's send, so calls
//! still on the wire are replayed on top of it.

use super::plain::{Plain, admit, answer, at_ms, engine, with_headers};
use spillway_core::Time;
use spillway_core::engine::UpstreamConfig;
use spillway_core::upstream::BackoffConfig;

/// A proactive engine with no margin, so the provider's `remaining` is exactly what may go.
fn proactive() -> Plain {
    let mut upstream = UpstreamConfig::reactive(BackoffConfig::default());
    upstream.proactive_margin_ppm = Some(0);
    engine(100, upstream)
}

/// 60 requests a minute, `remaining` of them left.
fn quota(remaining: &str) -> [(&'static str, &str); 2] {
    [
        ("x-ratelimit-limit-requests", "60"),
        ("x-ratelimit-remaining-requests", remaining),
    ]
}

/// Sends everything the engine lets go at `now`; how many.
fn drain(e: &mut Plain, now: Time) -> Vec<spillway_core::engine::RequestId> {
    std::iter::from_fn(|| e.poll_dispatch(now).map(|d| d.id)).collect()
}

/// The provider says 1 request is left: of 5 waiting requests, 1 goes, because the first
/// one on the wire already takes the model's last request.
#[test]
fn proactive_headroom_counts_calls_on_the_wire() {
    let mut e = proactive();
    let t = Time::ZERO;
    admit(&mut e, t, 0);
    let first = e.poll_dispatch(t).expect("sent");
    e.on_response(t, first.id, &with_headers(200, &quota("1")));
    for user in 1..=5 {
        admit(&mut e, t, user);
    }
    let sent = drain(&mut e, t).len();
    assert_eq!(sent, 1, "1 request left, but {sent} were sent at once");
}

/// An answer's headers are as of its own send: the two calls sent after it are still on the
/// wire, so "2 remaining" leaves nothing for the queue.
#[test]
fn a_snapshot_replays_the_sends_made_after_its_request() {
    let mut e = proactive();
    admit(&mut e, at_ms(0), 0);
    let first = e.poll_dispatch(at_ms(0)).expect("sent");
    e.on_response(at_ms(0), first.id, &with_headers(200, &quota("3")));
    // Three calls at 10, 11 and 12 ms use the 3 the provider said were left.
    let mut on_wire = Vec::new();
    for (user, ms) in [(1, 10), (2, 11), (3, 12)] {
        admit(&mut e, at_ms(ms), user);
        on_wire.extend(drain(&mut e, at_ms(ms)));
    }
    assert_eq!(on_wire.len(), 3);
    for user in 4..8 {
        admit(&mut e, at_ms(12), user);
    }
    assert!(
        drain(&mut e, at_ms(12)).is_empty(),
        "the model's quota is used up"
    );
    // The call sent at 10 ms answers at 20 ms: when it was admitted, 2 were left. A new
    // arrival makes the engine look at its queue again.
    e.on_response(at_ms(20), on_wire[0], &with_headers(200, &quota("2")));
    admit(&mut e, at_ms(20), 8);
    let sent = drain(&mut e, at_ms(20)).len();
    assert_eq!(
        sent, 0,
        "2 calls on the wire use the 2 left, yet {sent} more went"
    );
}

/// Calls sent in one drain share its instant: the answer to the first of three sent at 10 ms
/// ("2 left" as of its own send) must replay the other two, still on the wire, not only the
/// sends made strictly after 10 ms.
#[test]
fn a_snapshot_replays_the_calls_sent_in_the_same_drain() {
    let mut e = proactive();
    admit(&mut e, at_ms(0), 0);
    let first = e.poll_dispatch(at_ms(0)).expect("sent");
    e.on_response(at_ms(0), first.id, &with_headers(200, &quota("3")));
    for user in 1..=3 {
        admit(&mut e, at_ms(10), user);
    }
    let on_wire = drain(&mut e, at_ms(10));
    assert_eq!(on_wire.len(), 3, "the 3 left go in one drain");
    e.on_response(at_ms(20), on_wire[0], &with_headers(200, &quota("2")));
    admit(&mut e, at_ms(20), 4);
    let sent = drain(&mut e, at_ms(20)).len();
    assert_eq!(
        sent, 0,
        "2 calls of the same drain use the 2 left, yet {sent} more went"
    );
}

/// An accepted answer whose snapshot shows more room than the model had wakes the staged
/// request at once, rather than at the refill its timer was set for.
#[test]
fn a_snapshot_with_more_room_wakes_the_staged_request() {
    let mut e = proactive();
    admit(&mut e, at_ms(0), 0);
    let first = e.poll_dispatch(at_ms(0)).expect("sent");
    e.on_response(at_ms(0), first.id, &with_headers(200, &quota("1")));
    for user in 1..=2 {
        admit(&mut e, at_ms(0), user);
    }
    let sent = drain(&mut e, at_ms(0));
    assert_eq!(
        sent.len(),
        1,
        "the last request left goes; the other is staged"
    );
    let wake = e.poll_timeout().expect("the staged request's wake");
    assert!(wake > at_ms(10));
    // As of its send, the provider had 5 left (another window, a raised limit).
    e.on_response(at_ms(10), sent[0], &with_headers(200, &quota("5")));
    let woken = drain(&mut e, at_ms(10)).len();
    assert_eq!(woken, 1, "the staged request still waits for {wake:?}");
}

/// A call that used fewer tokens than its `max_tokens` gives the rest back to the model (the
/// providers that reserve `max_tokens` at admission return the unused part at the end).
#[test]
fn a_completion_settles_the_model_to_the_tokens_used() {
    use spillway_core::engine::Completion;
    let mut e = proactive();
    let t = Time::ZERO;
    admit(&mut e, t, 0);
    let first = e.poll_dispatch(t).expect("sent");
    let tokens = [
        ("x-ratelimit-limit-tokens", "6000"),
        ("x-ratelimit-remaining-tokens", "980"),
    ];
    e.on_response(t, first.id, &with_headers(200, &tokens));
    let remaining = |e: &Plain| e.headroom().expect("proactive").estimates(t)[1].remaining;
    assert_eq!(
        remaining(&e),
        Some(980),
        "the snapshot counts the first call"
    );
    admit(&mut e, t, 1);
    let second = e.poll_dispatch(t).expect("room for 20 tokens");
    assert_eq!(
        remaining(&e),
        Some(960),
        "input 10 + max_tokens 10 charged at dispatch"
    );
    e.on_response(t, second.id, &answer(true, 200, None));
    let used = Completion {
        input_tokens: 10,
        output_tokens: 4,
        failed: false,
    };
    e.on_complete(t, second.id, used);
    assert_eq!(remaining(&e), Some(966), "6 unused output tokens come back");
}
