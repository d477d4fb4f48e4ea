//! A request carries the key it is sent with, not the one it arrived with: a request that
//! waited (queued, backing off) past its key's expiry or revocation is re-keyed at dispatch,
//! its budget reservation moved to the new key, or refused when no key is usable. The key
//! ring's promise, "nothing ever routes to an expired or revoked key", holds for queued
//! requests too.

use super::parts::{KEY_EXPIRES_S, gate_with_keys, small_config, test_key};
use super::plain::answer;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::engine::{
    Admission, Completion, Departure, Engine, EngineEvent, RequestId, RequestMeta, SpendGate,
    SpendRefusal,
};
use spillway_core::keys::{KeyId, KeyRole, KeySpec, KeyStatus};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::{Duration, Time};

type TestEngine = Engine<u64, Layered, SpendGate, ChaCha8Rng>;

/// When the first call completes: after the primary key expired.
const LATE: Time = Time::from_secs(KEY_EXPIRES_S + 5);

/// One call on the wire at most, over a gate with `keys`; two requests arrive at 0: the
/// first is sent, the second waits in the queue until the first completes at [`LATE`].
fn second_waits_past_expiry(keys: Vec<KeySpec>) -> (TestEngine, RequestId) {
    let layers = Layered::new(Vec::<LayerSpec>::new()).expect("no layers");
    let rng = |s| ChaCha8Rng::seed_from_u64(s);
    let gate = gate_with_keys(1_000_000, true, None, keys);
    let mut e = Engine::new(small_config(1), layers, gate, rng(1), rng(2)).expect("valid engine");
    let meta = |user| RequestMeta {
        user,
        team: 0,
        feature: 0,
        class: 1,
        input_tokens: 10,
        output_estimate: 10,
        max_tokens: 10,
        payload: user,
    };
    assert!(matches!(
        e.on_request(Time::ZERO, meta(0)),
        Admission::Accepted(_)
    ));
    let first = e.poll_dispatch(Time::ZERO).expect("sent");
    let Admission::Accepted(second) = e.on_request(Time::ZERO, meta(1)) else {
        panic!("the second is admitted");
    };
    assert!(
        e.poll_dispatch(Time::ZERO).is_none(),
        "queued behind the first"
    );
    let ok = answer(true, 200, None);
    e.on_response(Time::ZERO, first.id, &ok);
    let done = Completion {
        input_tokens: 10,
        output_tokens: 10,
        failed: false,
    };
    e.on_complete(LATE, first.id, done);
    while e.poll_event().is_some() {}
    (e, second)
}

fn primary() -> KeySpec {
    test_key(
        "primary",
        KeyRole::Primary,
        (Time::ZERO, KEY_EXPIRES_S),
        2_000_000,
    )
}

#[test]
fn a_queued_request_is_not_sent_with_a_key_that_expired_meanwhile() {
    let (mut e, second) = second_waits_past_expiry(vec![primary()]);
    let sent = e.poll_dispatch(LATE);
    assert!(
        sent.is_none(),
        "sent with a key that is {:?}",
        e.spend().keys().status(LATE, KeyId(key_of(&e, second)))
    );
    let events: Vec<_> = std::iter::from_fn(|| e.poll_event()).collect();
    let no_key = events.iter().any(|ev| {
        matches!(
            ev,
            EngineEvent::BudgetRefused {
                why: SpendRefusal::NoKey,
                ..
            }
        )
    });
    let shed = events.iter().any(
        |ev| matches!(ev, EngineEvent::Departed { id, how: Departure::Shed, .. } if *id == second),
    );
    assert!(no_key && shed, "refused for want of a key: {events:?}");
    assert_eq!(
        e.spend().budget().ledger.reserved_nano_usd(),
        0,
        "its reservation is released"
    );
}

#[test]
fn a_queued_request_is_sent_and_billed_with_the_key_usable_at_dispatch() {
    let secondary = test_key(
        "secondary",
        KeyRole::Secondary,
        (Time::from_secs(KEY_EXPIRES_S), 3_600),
        2_000_000,
    );
    let (mut e, second) = second_waits_past_expiry(vec![primary(), secondary]);
    let sent = e.poll_dispatch(LATE).expect("sent with the secondary");
    assert_eq!(sent.id, second);
    let key = key_of(&e, second);
    let status = e.spend().keys().status(LATE, KeyId(key));
    assert!(
        matches!(status, Some(KeyStatus::Active | KeyStatus::Draining)),
        "dispatched with a key that is {status:?}"
    );
    let done = Completion {
        input_tokens: 10,
        output_tokens: 10,
        failed: false,
    };
    let ok = answer(true, 200, None);
    let t = LATE.saturating_add(Duration::from_secs(1));
    e.on_response(t, second, &ok);
    e.on_complete(t, second, done);
    let billed_to = std::iter::from_fn(|| e.poll_event()).find_map(|ev| match ev {
        EngineEvent::Completed {
            settlement: Some(s),
            ..
        } => Some(s.subject.api_key),
        _ => None,
    });
    assert_eq!(billed_to, Some(key), "billed to the key it was sent with");
    assert_eq!(
        e.spend().budget().ledger.reserved_nano_usd(),
        0,
        "nothing left reserved"
    );
}

/// The key the budget reserved `id`'s spend on.
fn key_of(e: &TestEngine, id: RequestId) -> u64 {
    e.spend_ticket(id).map_or(0, |t| t.subject().api_key)
}
