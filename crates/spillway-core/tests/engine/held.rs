//! Held requests: a request the budget holds counts in `held_in` (it waits in the gateway,
//! outside the queue) until it is asked again or leaves; it is asked again at its cap's reset,
//! or sooner when settlements free room (a hold caused by reservations ends when they settle).

use super::parts::{gate, small_config};
use super::plain::answer;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::engine::{
    Admission, Completion, Departure, Engine, EngineConfig, EngineEvent, RequestMeta, SpendGate,
};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::upstream::BreakerConfig;
use spillway_core::{Duration, Time};

type TestEngine = Engine<u64, Layered, SpendGate, ChaCha8Rng>;

/// Three calls on the wire and one queued reserve 900 of the 1,000 nano-USD hourly cap (the
/// third and fourth on the cheap model): a fifth is held.
fn with_one_held() -> (TestEngine, spillway_core::engine::RequestId) {
    let (e, _, held) = with_one_held_and_sent();
    (e, held)
}

/// [`with_one_held`], and the calls on the wire.
fn with_one_held_and_sent() -> (
    TestEngine,
    Vec<spillway_core::engine::RequestId>,
    spillway_core::engine::RequestId,
) {
    held_under(small_config(3))
}

/// [`with_one_held_and_sent`] under `config` (three calls on the wire at most).
fn held_under(
    config: EngineConfig,
) -> (
    TestEngine,
    Vec<spillway_core::engine::RequestId>,
    spillway_core::engine::RequestId,
) {
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
    let (mut last, mut sent) = (None, Vec::new());
    for user in 0..5 {
        let Admission::Accepted(id) = e.on_request(Time::ZERO, meta(user)) else {
            panic!("request {user} accepted");
        };
        last = Some(id);
        while let Some(d) = e.poll_dispatch(Time::ZERO) {
            sent.push(d.id);
        }
    }
    assert_eq!(e.in_flight(), 3);
    assert_eq!((e.held_in(1), e.queued_in(1)), (1, 1), "the fifth is held");
    assert_eq!(
        (e.held_in(0), e.held_in(9)),
        (0, 0),
        "other classes hold none"
    );
    (e, sent, last.expect("five requests"))
}

#[test]
fn a_held_request_counts_until_its_client_leaves() {
    let (mut e, held) = with_one_held();
    assert!(e.on_cancel(Time::from_secs(1), held));
    assert_eq!(e.held_in(1), 0);
}

/// A held request leaves at its class deadline (5 s), as a queued one does, not at its cap's
/// reset (60 s). The cap is spent, not reserved, so nothing wakes it before. Fails without:
/// the hold had no deadline timer and lasted until the reset.
#[test]
fn a_held_request_leaves_at_its_class_deadline() {
    let patience = Duration::from_secs(5);
    let (mut e, sent, held) = held_under(EngineConfig {
        deadlines: vec![Some(patience); 4],
        ..small_config(3)
    });
    let t = Time::from_secs(1);
    let big = Completion {
        input_tokens: 290,
        output_tokens: 50,
        failed: false,
    };
    for id in sent {
        e.on_response(t, id, &answer(true, 200, None));
        e.on_complete(t, id, big);
        while e.poll_dispatch(t).is_some() {}
    }
    let deadline = Time::ZERO.saturating_add(patience);
    let run_until = |e: &mut TestEngine, end: Time| {
        while let Some(t) = e.poll_timeout().filter(|&t| t <= end) {
            e.handle_timeout(t);
            while e.poll_dispatch(t).is_some() {}
        }
    };
    run_until(&mut e, Time::from_nanos(deadline.as_nanos() - 1));
    assert_eq!(e.held_in(1), 1, "held until its deadline");
    run_until(&mut e, deadline);
    assert_eq!(e.held_in(1), 0, "next timer {:?}", e.poll_timeout());
    let left = std::iter::from_fn(|| e.poll_event()).find_map(|ev| match ev {
        EngineEvent::Departed { id, how, .. } if id == held => Some(how),
        _ => None,
    });
    assert_eq!(left, Some(Departure::Abandoned));
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

/// The cap is full of estimates, not of spend: when the calls settle far below them (~3 of
/// the 1,000 spent), the held request is asked again at once, not at the hour's reset.
#[test]
fn a_hold_caused_by_reservations_ends_when_they_settle() {
    let (mut e, sent, held) = with_one_held_and_sent();
    let t = Time::from_secs(1);
    let ok = answer(true, 200, None);
    let tiny = Completion {
        input_tokens: 1,
        output_tokens: 0,
        failed: false,
    };
    for id in sent {
        e.on_response(t, id, &ok);
        e.on_complete(t, id, tiny);
    }
    let mut dispatched = Vec::new();
    while let Some(d) = e.poll_dispatch(t) {
        dispatched.push(d.id);
    }
    let reserved = e.spend().budget().ledger.reserved_nano_usd();
    assert_eq!(
        e.held_in(1),
        0,
        "{reserved} reserved, yet still held until {:?}",
        e.poll_timeout()
    );
    assert!(
        dispatched.contains(&held),
        "the formerly held request is sent"
    );
    // Its hold's reset timer, when it fires, asks nothing again.
    while e.poll_event().is_some() {}
    let reset = e.poll_timeout().expect("the stale reset timer");
    e.handle_timeout(reset);
    let asked_again = std::iter::from_fn(|| e.poll_event()).any(|ev| {
        matches!(
            ev,
            EngineEvent::Held { .. } | EngineEvent::BudgetRefused { .. }
        )
    });
    assert!(!asked_again, "a request no longer held is not asked again");
    assert_eq!(
        e.in_flight(),
        2,
        "the queued request and the formerly held one"
    );
}

/// Room freed inside a dispatch pass is not lost: while the primary's breaker is open the
/// queued requests are served from the cache, each releasing its reservation, so the held one
/// is asked again and served in the same drain, not at its hold's reset.
#[test]
fn a_reservation_released_while_dispatching_wakes_the_held() {
    let mut config = small_config(3);
    config.upstream.cache_hit_permille = 1_000;
    let open_for = spillway_core::Duration::from_secs(30);
    config.upstream.breaker = Some(BreakerConfig::new(1, open_for, 1).expect("valid"));
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
    let t = Time::ZERO;
    assert!(matches!(e.on_request(t, meta(0)), Admission::Accepted(_)));
    let first = e.poll_dispatch(t).expect("sent");
    let failed = answer(false, 500, None);
    e.on_response(t, first.id, &failed);
    assert!(e.poll_dispatch(t).is_none(), "its retry waits for backoff");
    for user in 1..5 {
        assert!(matches!(
            e.on_request(t, meta(user)),
            Admission::Accepted(_)
        ));
    }
    assert_eq!(e.held_in(1), 1, "four reservations hold the fifth");
    assert!(e.poll_dispatch(t).is_none(), "the cache serves the queue");
    assert_eq!(
        (e.held_in(1), e.len()),
        (0, 1),
        "the held request waits for {:?}; only the retry should",
        e.poll_timeout()
    );
}

/// A hold caused by spend (not reservations) stays until the reset: settlements that free
/// no room for it wake nothing.
#[test]
fn a_hold_caused_by_spend_lasts_until_the_reset() {
    let (mut e, sent, _) = with_one_held_and_sent();
    while e.poll_event().is_some() {}
    let t = Time::from_secs(1);
    let ok = answer(true, 200, None);
    // Each call used more than its estimate: the cap is spent, not reserved.
    let big = Completion {
        input_tokens: 290,
        output_tokens: 50,
        failed: false,
    };
    for id in sent {
        e.on_response(t, id, &ok);
        e.on_complete(t, id, big);
        while e.poll_dispatch(t).is_some() {}
    }
    assert_eq!(e.held_in(1), 1, "still held");
    let held_events = std::iter::from_fn(|| e.poll_event())
        .filter(|ev| matches!(ev, EngineEvent::Held { .. }))
        .count();
    assert_eq!(
        held_events, 0,
        "no new hold reported for a request still held"
    );
}
