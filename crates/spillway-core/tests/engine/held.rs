//! The held gauge: a request the budget holds until a reset counts in `held_in` (it waits in
//! the gateway, outside the queue) until it is asked again or leaves.

use super::parts::{gate, small_config};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::Time;
use spillway_core::engine::{Admission, Departure, Engine, EngineEvent, RequestMeta, SpendGate};
use spillway_core::limit::{LayerSpec, Layered};

type TestEngine = Engine<u64, Layered, SpendGate, ChaCha8Rng>;

/// Three calls on the wire and one queued reserve 900 of the 1,000 nano-USD hourly cap (the
/// third and fourth on the cheap model): a fifth is held.
fn with_one_held() -> (TestEngine, spillway_core::engine::RequestId) {
    let config = small_config(3);
    let layers = Layered::new(Vec::<LayerSpec>::new()).expect("no layers");
    let rng = |s| ChaCha8Rng::seed_from_u64(s);
    let mut e =
        Engine::new(config, layers, gate(1_000, true, None), rng(1), rng(2)).expect("valid engine");
    let meta = |user| RequestMeta {
        user,
        team: 0,
        feature: 0,
        class: 1,
        input_tokens: 290,
        output_estimate: 10,
        max_tokens: 10,
        payload: user,
    };
    let mut last = None;
    for user in 0..5 {
        let Admission::Accepted(id) = e.on_request(Time::ZERO, meta(user)) else {
            panic!("request {user} accepted");
        };
        last = Some(id);
        while e.poll_dispatch(Time::ZERO).is_some() {}
    }
    assert_eq!(e.in_flight(), 3);
    assert_eq!((e.held_in(1), e.queued_in(1)), (1, 1), "the fifth is held");
    assert_eq!(
        (e.held_in(0), e.held_in(9)),
        (0, 0),
        "other classes hold none"
    );
    (e, last.expect("five requests"))
}

#[test]
fn a_held_request_counts_until_its_client_leaves() {
    let (mut e, held) = with_one_held();
    assert!(e.on_cancel(Time::from_secs(1), held));
    assert_eq!(e.held_in(1), 0);
}

#[test]
fn a_held_request_counts_until_it_is_asked_again() {
    let (mut e, _) = with_one_held();
    let reset = e.poll_timeout().expect("the hold's reset");
    assert!(reset > Time::from_secs(1));
    e.handle_timeout(reset);
    // Asked again at the reset (60 s in), it finds the only key expired (20 s): refused.
    let mut shed = false;
    while let Some(event) = e.poll_event() {
        shed |= matches!(
            event,
            EngineEvent::Departed {
                how: Departure::Shed,
                ..
            }
        );
    }
    assert!(shed, "refused at the reset");
    assert_eq!(e.held_in(1), 0);
    e.drain(reset);
    assert_eq!(e.held_in(1), 0, "nothing held after draining");
}
