//! A call the provider accepted is billed however it ends: cancelled mid-stream, failed after
//! acceptance, still on the wire when the engine drains. It books max(estimate, tokens seen);
//! a call refused upstream or never sent is released. A server whose client left while the
//! call was on the wire bills it too (`on_cancel_sent`).

use super::parts::{Counting, gate, small_config};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::engine::{
    Admission, Completion, Engine, EngineEvent, RequestId, RequestMeta, Response, SpendGate,
};
use spillway_core::limit::{Algorithm, LayerSpec, Layered, LimitSpec, Scope, Unit};
use spillway_core::{Duration, Time};

type TestEngine = Engine<u64, Counting, SpendGate, ChaCha8Rng>;

/// The estimate's output tokens (the gate's feature median).
const ESTIMATE_OUTPUT: u64 = 10;
/// Prompt tokens of every request.
const INPUT: u64 = 100;

fn engine() -> TestEngine {
    engine_with(Vec::new())
}

fn engine_with(layers: Vec<LayerSpec>) -> TestEngine {
    let config = small_config(8);
    let limiter = Counting {
        layers: Layered::new(layers).expect("valid layers"),
        outstanding: 0,
    };
    let rng = ChaCha8Rng::seed_from_u64;
    Engine::new(
        config,
        limiter,
        gate(1_000_000, false, None),
        rng(1),
        rng(2),
    )
    .expect("valid")
}

fn at(ms: u64) -> Time {
    Time::ZERO.saturating_add(Duration::from_millis(ms))
}

/// Every test's request: user 1's, of [`INPUT`] prompt tokens.
fn meta() -> RequestMeta<u64> {
    RequestMeta {
        user: 1,
        team: 0,
        feature: 0,
        class: 0,
        input_tokens: INPUT,
        output_estimate: ESTIMATE_OUTPUT,
        max_tokens: 50,
        payload: 0,
    }
}

/// Admit one request and send it; its id.
fn sent(e: &mut TestEngine, now: Time) -> RequestId {
    let Admission::Accepted(id) = e.on_request(now, meta()) else {
        panic!("admitted");
    };
    // Every other admission pays a store round trip (the test limiter): let it pass.
    let later = now.saturating_add(Duration::from_millis(10));
    while let Some(t) = e.poll_timeout().filter(|t| *t <= later) {
        e.handle_timeout(t);
    }
    let d = e.poll_dispatch(later).expect("sent");
    assert_eq!(d.id, id);
    id
}

fn answer(accepted: bool) -> Response {
    Response {
        accepted,
        status: if accepted { 200 } else { 429 },
        ..Response::default()
    }
}

/// Spent on the hourly cap (the gate's first); a nano-USD a token on the requested model.
fn spent(e: &TestEngine, now: Time) -> u64 {
    let ledger = &e.spend().budget().ledger;
    let (cap, _) = ledger.caps().next().expect("a cap");
    ledger.account(now, cap, 0).expect("account").spent_nano_usd
}

fn reserved(e: &TestEngine) -> u64 {
    e.spend().budget().ledger.reserved_nano_usd()
}

/// The costs the budget booked for calls that did not complete, in order.
fn billed(e: &mut TestEngine) -> Vec<(RequestId, u64)> {
    let mut out = Vec::new();
    while let Some(event) = e.poll_event() {
        if let EngineEvent::Billed { id, settlement, .. } = event {
            out.push((id, settlement.actual_nano_usd));
        }
    }
    out
}

#[test]
fn an_accepted_call_cancelled_mid_stream_books_what_it_used_or_its_estimate() {
    let mut e = engine();
    let long = sent(&mut e, at(0));
    let short = sent(&mut e, at(0));
    assert!(reserved(&e) > 0);
    e.on_response(at(20), long, &answer(true));
    e.on_response(at(20), short, &answer(true));
    // More output than estimated was seen before the client left: all of it is billed.
    e.on_progress(at(30), long, INPUT, 30);
    assert!(e.on_cancel(at(40), long));
    // Less than estimated: the estimate is billed (the provider may have produced more).
    e.on_progress(at(30), short, INPUT, 3);
    assert!(e.on_cancel(at(40), short));
    let used = INPUT + 30;
    let estimated = INPUT + ESTIMATE_OUTPUT;
    assert_eq!(billed(&mut e), vec![(long, used), (short, estimated)]);
    assert_eq!(spent(&e, at(40)), used + estimated);
    assert_eq!(reserved(&e), 0);
    assert_eq!(e.limiter().outstanding, 0);
}

#[test]
fn a_call_not_accepted_upstream_is_released() {
    let mut e = engine();
    let on_wire = sent(&mut e, at(0));
    // Progress before acceptance means nothing: nobody bills a call not taken.
    e.on_progress(at(10), on_wire, INPUT, 30);
    assert!(e.on_cancel(at(20), on_wire));
    let refused = sent(&mut e, at(30));
    e.on_response(at(40), refused, &answer(false));
    assert!(e.on_cancel(at(50), refused), "waiting for its retry");
    assert_eq!(billed(&mut e), vec![]);
    assert_eq!(spent(&e, at(50)), 0);
    assert_eq!(reserved(&e), 0);
}

#[test]
fn a_call_that_fails_after_acceptance_or_is_left_on_the_wire_is_billed() {
    let mut e = engine();
    let failed = sent(&mut e, at(0));
    let streaming = sent(&mut e, at(0));
    e.on_response(at(10), failed, &answer(true));
    e.on_response(at(10), streaming, &answer(true));
    let broken = Completion {
        input_tokens: INPUT,
        output_tokens: 40,
        failed: true,
    };
    e.on_complete(at(20), failed, broken);
    e.drain(at(30));
    let estimated = INPUT + ESTIMATE_OUTPUT;
    assert_eq!(
        billed(&mut e),
        vec![(failed, INPUT + 40), (streaming, estimated)]
    );
    assert_eq!(spent(&e, at(30)), INPUT + 40 + estimated);
    assert_eq!(reserved(&e), 0);
}

#[test]
fn a_billed_call_teaches_the_estimator_nothing_a_completion_does() {
    let mut e = engine();
    let learned = |e: &TestEngine| e.spend().budget().estimator.learned_output_tokens(0);
    let left = sent(&mut e, at(0));
    e.on_response(at(10), left, &answer(true));
    e.on_progress(at(20), left, INPUT, 3);
    assert!(e.on_cancel(at(30), left));
    assert_eq!(billed(&mut e).len(), 1);
    // Billed at the estimate's floor: a sample equal to the estimate would only confirm it.
    assert_eq!(learned(&e), None);
    let done = sent(&mut e, at(40));
    e.on_response(at(50), done, &answer(true));
    let usage = Completion {
        input_tokens: INPUT,
        output_tokens: 4,
        failed: false,
    };
    e.on_complete(at(60), done, usage);
    assert_eq!(learned(&e), Some(4));
    assert_eq!(reserved(&e), 0);
}

#[test]
fn a_call_whose_client_left_while_it_was_on_the_wire_is_billed_by_a_server() {
    let mut e = engine();
    let on_wire = sent(&mut e, at(0));
    // A server cannot know whether the provider, which has the prompt, bills the call.
    assert!(e.on_cancel_sent(at(20), on_wire));
    let refused = sent(&mut e, at(30));
    e.on_response(at(40), refused, &answer(false));
    // Refused upstream, waiting for its retry: nothing on the wire, released.
    assert!(e.on_cancel_sent(at(50), refused));
    let estimated = INPUT + ESTIMATE_OUTPUT;
    assert_eq!(billed(&mut e), vec![(on_wire, estimated)]);
    assert_eq!(spent(&e, at(50)), estimated);
    assert_eq!(reserved(&e), 0);
    assert_eq!(e.limiter().outstanding, 0);
}

/// A sliding log of `limit` tokens a minute, per user.
fn token_layer(limit: u64) -> LayerSpec {
    LayerSpec {
        name: "tokens".into(),
        scope: Scope::User,
        unit: Unit::Tokens,
        limit: LimitSpec {
            algorithm: Algorithm::SlidingLog,
            limit,
            window: Duration::from_secs(60),
            burst: None,
        },
    }
}

#[test]
fn a_call_left_on_the_wire_keeps_its_estimate_in_the_layers() {
    // Ten calls, each abandoned by its client after the send: the provider still reserves
    // (and generates) their output, so each keeps its whole estimate in the layer, 1,100
    // tokens, and an eleventh estimate does not fit under 1,200. Settled to their prompts
    // alone (the old floor), they kept 1,000 and the eleventh passed: a client hanging up
    // after every send got a tenth more through per call than the limit allows.
    let estimate = INPUT + ESTIMATE_OUTPUT;
    let mut e = engine_with(vec![token_layer(11 * estimate - 10)]);
    for call in 0..10 {
        let id = sent(&mut e, at(100 * call));
        assert!(e.on_cancel_sent(at(100 * call + 20), id));
    }
    assert!(
        matches!(e.on_request(at(1_100), meta()), Admission::Rejected(..)),
        "an eleventh estimate in the minute is refused"
    );
}
