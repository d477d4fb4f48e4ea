//! The circuit breaker's state machine: a table of every (state, event) pair with the expected
//! state, admission and recorded transition, plus a property that recorded transitions chain.

use proptest::prelude::*;
use spillway_core::upstream::{BreakerConfig, BreakerOpen, BreakerState, CircuitBreaker};
use spillway_core::{Duration, Time};

use crate::{CASES, config};

const OPEN_FOR: Duration = Duration::from_secs(10);
/// Every event below happens at T (before a reopen) or LATE (after `open_for`).
const T: Time = Time::from_secs(100);
const LATE: Time = Time::from_secs(100 + 10);

/// Threshold 2, open 10 s, 2 probes: small enough to reach every state in a few steps.
fn fresh() -> CircuitBreaker {
    CircuitBreaker::new(BreakerConfig::new(2, OPEN_FOR, 2).expect("valid"))
}

#[derive(Copy, Clone, Debug)]
enum Event {
    Acquire(Time),
    Success(Time),
    Failure(Time),
    Advance(Time),
}

/// Applies `e`; returns the admission result for `Acquire`.
fn apply(b: &mut CircuitBreaker, e: Event) -> Option<Result<(), BreakerOpen>> {
    match e {
        Event::Acquire(t) => return Some(b.try_acquire(t)),
        Event::Success(t) => b.on_success(t),
        Event::Failure(t) => b.on_failure(t),
        Event::Advance(t) => b.advance(t),
    }
    None
}

/// A breaker in the named state, with its transition log drained. Opened at T − 10 s, so the
/// open period ends at T (an "expired" open breaker) unless `fresh_open`.
fn reach(state: &str) -> CircuitBreaker {
    let mut b = fresh();
    let before = Time::from_secs(90);
    let steps: &[Event] = match state {
        "closed0" => &[],
        "closed1" => &[Event::Failure(T)],
        "open" => &[Event::Failure(T), Event::Failure(T)],
        "open_expired" => &[Event::Failure(before), Event::Failure(before)],
        "half0" => &[
            Event::Failure(before),
            Event::Failure(before),
            Event::Advance(T),
        ],
        "half1" => &[
            Event::Failure(before),
            Event::Failure(before),
            Event::Acquire(T),
        ],
        "half2" => &[
            Event::Failure(before),
            Event::Failure(before),
            Event::Acquire(T),
            Event::Acquire(T),
        ],
        "half2_ok1" => &[
            Event::Failure(before),
            Event::Failure(before),
            Event::Acquire(T),
            Event::Acquire(T),
            Event::Success(T),
        ],
        other => panic!("unknown state {other}"),
    };
    for &e in steps {
        let _ = apply(&mut b, e);
    }
    b.drain_transitions().for_each(drop);
    b
}

const CLOSED0: BreakerState = BreakerState::Closed { failures: 0 };
const CLOSED1: BreakerState = BreakerState::Closed { failures: 1 };
const OPEN_T: BreakerState = BreakerState::Open { until: LATE };
const OPEN_BEFORE: BreakerState = BreakerState::Open { until: T };

const fn half(admitted: u32, succeeded: u32) -> BreakerState {
    BreakerState::HalfOpen {
        admitted,
        succeeded,
    }
}

/// (start state, event, state after, admission for Acquire, transition recorded?)
type Row = (
    &'static str,
    Event,
    BreakerState,
    Option<Result<(), BreakerOpen>>,
    bool,
);

fn table() -> Vec<Row> {
    let ok = Some(Ok(()));
    let refused_until = |t| Some(Err(BreakerOpen { retry_at: Some(t) }));
    let refused_probes = Some(Err(BreakerOpen { retry_at: None }));
    vec![
        // Closed: everything passes; failures count; a success resets; the threshold trips.
        ("closed0", Event::Acquire(T), CLOSED0, ok, false),
        ("closed0", Event::Success(T), CLOSED0, None, false),
        ("closed0", Event::Failure(T), CLOSED1, None, false),
        ("closed0", Event::Advance(LATE), CLOSED0, None, false),
        ("closed1", Event::Acquire(T), CLOSED1, ok, false),
        ("closed1", Event::Success(T), CLOSED0, None, false),
        ("closed1", Event::Failure(T), OPEN_T, None, true),
        ("closed1", Event::Advance(LATE), CLOSED1, None, false),
        // Open: refuses with the reopen time; late responses are ignored; time half-opens.
        (
            "open",
            Event::Acquire(T),
            OPEN_T,
            refused_until(LATE),
            false,
        ),
        ("open", Event::Success(T), OPEN_T, None, false),
        ("open", Event::Failure(T), OPEN_T, None, false),
        (
            "open",
            Event::Advance(Time::from_nanos(LATE.as_nanos() - 1)),
            OPEN_T,
            None,
            false,
        ),
        ("open", Event::Advance(LATE), half(0, 0), None, true),
        ("open", Event::Acquire(LATE), half(1, 0), ok, true),
        // An open breaker whose time is up half-opens on any event.
        ("open_expired", Event::Acquire(T), half(1, 0), ok, true),
        ("open_expired", Event::Success(T), half(0, 0), None, true),
        ("open_expired", Event::Failure(T), OPEN_T, None, true),
        ("open_expired", Event::Advance(T), half(0, 0), None, true),
        // Half-open: up to 2 probes; all must succeed; one failure reopens.
        ("half0", Event::Acquire(T), half(1, 0), ok, false),
        ("half0", Event::Success(T), half(0, 0), None, false),
        ("half0", Event::Failure(T), OPEN_T, None, true),
        ("half0", Event::Advance(LATE), half(0, 0), None, false),
        ("half1", Event::Acquire(T), half(2, 0), ok, false),
        ("half1", Event::Success(T), half(1, 1), None, false),
        ("half1", Event::Failure(T), OPEN_T, None, true),
        (
            "half2",
            Event::Acquire(T),
            half(2, 0),
            refused_probes,
            false,
        ),
        ("half2", Event::Success(T), half(2, 1), None, false),
        ("half2", Event::Failure(T), OPEN_T, None, true),
        (
            "half2_ok1",
            Event::Acquire(T),
            half(2, 1),
            refused_probes,
            false,
        ),
        ("half2_ok1", Event::Success(T), CLOSED0, None, true),
        ("half2_ok1", Event::Failure(T), OPEN_T, None, true),
    ]
}

#[test]
fn every_transition_of_the_state_machine() {
    assert_eq!(reach("open").state(), OPEN_T);
    assert_eq!(reach("open_expired").state(), OPEN_BEFORE);
    for (start, event, expected, admission, transition) in table() {
        let mut b = reach(start);
        let before = b.state();
        let got = apply(&mut b, event);
        let what = format!("{start} + {event:?}");
        assert_eq!(b.state(), expected, "{what}: state");
        assert_eq!(got, admission, "{what}: admission");
        let log: Vec<_> = b.drain_transitions().collect();
        if transition {
            let last = log
                .last()
                .unwrap_or_else(|| panic!("{what}: no transition"));
            assert_eq!(log[0].from, before, "{what}: from");
            assert_eq!(last.to.name(), expected.name(), "{what}: to");
        } else {
            assert!(log.is_empty(), "{what}: unexpected {log:?}");
        }
    }
}

#[test]
fn zero_threshold_or_probes_are_config_errors() {
    assert!(BreakerConfig::new(0, OPEN_FOR, 1).is_err());
    assert!(BreakerConfig::new(1, OPEN_FOR, 0).is_err());
}

fn event() -> impl Strategy<Value = (u8, u64)> {
    (0u8..4, 0u64..3_000_000_000)
}

proptest! {
    #![proptest_config(config("breaker", CASES))]

    /// Recorded transitions chain (each `from` is the previous `to`), change the state's kind,
    /// the breaker never admits while open before its time, and half-open never counts more
    /// successes than probes admitted, nor admits more than its probes.
    #[test]
    fn transitions_chain_and_open_never_admits(events in prop::collection::vec(event(), 1..200)) {
        let mut b = fresh();
        let mut now = Time::ZERO;
        let mut last = b.state();
        for (kind, step) in events {
            now = now.saturating_add(Duration::from_nanos(step));
            let state_before = b.state();
            let e = [Event::Acquire(now), Event::Success(now), Event::Failure(now), Event::Advance(now)][kind as usize];
            let admitted = apply(&mut b, e);
            if let (BreakerState::Open { until }, Some(Ok(()))) = (state_before, admitted) {
                prop_assert!(now >= until, "admitted at {now} while open until {until}");
            }
            for t in b.drain_transitions() {
                prop_assert_eq!(t.from.name(), last.name());
                prop_assert_ne!(t.from.name(), t.to.name());
                prop_assert_eq!(t.at, now);
                last = t.to;
            }
            prop_assert_eq!(b.state().name(), last.name());
            if let BreakerState::HalfOpen { admitted, succeeded } = b.state() {
                prop_assert!(succeeded <= admitted && admitted <= 2, "{:?}", b.state());
            }
        }
    }
}
