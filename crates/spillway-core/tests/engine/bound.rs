//! The bound on requests inside (`max_requests`) yields to the queue's priorities: at the
//! bound, an urgent arrival takes the place of the less urgent queued request the queue would
//! shed for it (whether the queue or calls outside it fill the bound), and the bound is never
//! exceeded; an arrival that outranks nothing queued is refused `Full`.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::engine::{
    Admission, Departure, Engine, EngineConfig, EngineEvent, NoSpend, Rejection, RequestId,
    RequestMeta, Response, UpstreamConfig,
};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_core::{Duration, Time};

const INTERACTIVE: usize = 0;
const BATCH: usize = 2;

type TestEngine = Engine<u64, Layered, NoSpend, ChaCha8Rng>;

fn engine(queue: usize, max_requests: usize) -> TestEngine {
    let config = EngineConfig {
        max_in_flight: 1,
        max_requests,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig {
            capacity: Some(queue),
            ..SchedulerConfig::default()
        },
        upstream: UpstreamConfig::reactive(BackoffConfig::default()),
    };
    let layers = Layered::new(Vec::<LayerSpec>::new()).expect("no layers");
    let rng = |s| ChaCha8Rng::seed_from_u64(s);
    Engine::new(config, layers, NoSpend, rng(1), rng(2)).expect("valid engine")
}

fn arrive(e: &mut TestEngine, class: usize) -> Result<RequestId, Rejection> {
    let meta = RequestMeta {
        user: 1,
        team: 0,
        feature: 0,
        class,
        input_tokens: 10,
        output_estimate: 10,
        max_tokens: 10,
        payload: 0,
    };
    match e.on_request(Time::ZERO, meta) {
        Admission::Accepted(id) => Ok(id),
        Admission::Rejected(why) => Err(why),
    }
}

/// The requests shed so far.
fn shed(e: &mut TestEngine) -> Vec<RequestId> {
    let mut out = Vec::new();
    while let Some(event) = e.poll_event() {
        if let EngineEvent::Departed {
            id,
            how: Departure::Shed,
            ..
        } = event
        {
            out.push(id);
        }
    }
    out
}

#[test]
fn at_the_bound_an_urgent_arrival_takes_the_place_of_queued_batch_work() {
    // `serve`'s bound: the queue's capacity plus the calls in flight.
    let mut e = engine(1, 2);
    let a = arrive(&mut e, BATCH).expect("A admitted");
    assert_eq!(e.poll_dispatch(Time::ZERO).map(|d| d.id), Some(a));
    let b = arrive(&mut e, BATCH).expect("B queued");
    let c = arrive(&mut e, INTERACTIVE);
    assert!(c.is_ok(), "C refused at the bound: {c:?}");
    assert_eq!(shed(&mut e), vec![b]);
    assert_eq!(e.len(), 2, "the bound is kept");
    // Nothing queued is less urgent than these: refused, nothing shed.
    assert_eq!(arrive(&mut e, INTERACTIVE), Err(Rejection::Full));
    assert_eq!(arrive(&mut e, BATCH), Err(Rejection::Full));
    assert_eq!(shed(&mut e), vec![]);
    assert_eq!(e.len(), 2);
}

#[test]
fn a_bound_filled_outside_the_queue_still_lets_urgent_work_displace_batch_work() {
    // Room in the queue, but a call waiting out a Retry-After fills the bound with B and C.
    let mut e = engine(4, 3);
    let a = arrive(&mut e, BATCH).expect("A admitted");
    assert_eq!(e.poll_dispatch(Time::ZERO).map(|d| d.id), Some(a));
    let limited = Response {
        accepted: false,
        status: 429,
        retry_after: Some(Duration::from_secs(60)),
        body_retry_after: None,
        snapshot: None,
    };
    e.on_response(Time::ZERO, a, &limited);
    let queued = [BATCH, BATCH].map(|class| arrive(&mut e, class).expect("queued"));
    assert!(
        e.poll_dispatch(Time::ZERO).is_none(),
        "the Retry-After holds them"
    );
    assert_eq!(e.len(), 3);
    assert!(
        arrive(&mut e, INTERACTIVE).is_ok(),
        "refused while batch work waits"
    );
    let gone = shed(&mut e);
    assert!(gone.len() == 1 && queued.contains(&gone[0]), "{gone:?}");
    assert_eq!(e.len(), 3, "the bound is kept");
    assert_eq!(arrive(&mut e, BATCH), Err(Rejection::Full));
}
