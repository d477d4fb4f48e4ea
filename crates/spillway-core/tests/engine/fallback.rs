//! A second provider has its own limits: one provider's Retry-After is a floor for the sends
//! to that provider only, and spills to the fallback go through its breaker like any send.

use super::plain::{Plain, answer, engine, meta};
use spillway_core::engine::{Admission, Dispatch, UpstreamConfig};
use spillway_core::upstream::{BackoffConfig, BreakerConfig, Target};
use spillway_core::{Duration, Time};

const RETRY_AFTER: Duration = Duration::from_secs(30);

/// The next dispatch and when it goes, letting time pass as the engine asks.
fn next_dispatch(e: &mut Plain, mut now: Time) -> (Dispatch<u64>, Time) {
    loop {
        if let Some(d) = e.poll_dispatch(now) {
            return (d, now);
        }
        now = e.poll_timeout().expect("something is pending");
        e.handle_timeout(now);
    }
}

/// After a 429 with Retry-After 30 s escalates to the fallback, the fallback takes the next
/// request at once: the primary's wait is not the fallback's.
#[test]
fn a_primary_retry_after_does_not_block_the_fallback() {
    let mut upstream = UpstreamConfig::reactive(BackoffConfig::default());
    upstream.fallback = true;
    upstream.escalate_after = 1;
    let mut e = engine(10, upstream);
    let t = Time::ZERO;
    assert!(matches!(e.on_request(t, meta(0)), Admission::Accepted(_)));
    let first = e.poll_dispatch(t).expect("sent");
    assert_eq!(first.target, Target::Primary);
    e.on_response(t, first.id, &answer(false, 429, Some(RETRY_AFTER)));
    assert!(matches!(e.on_request(t, meta(1)), Admission::Accepted(_)));
    let (second, at) = next_dispatch(&mut e, t);
    assert_eq!(second.target, Target::Fallback);
    assert_eq!(at, t, "the fallback took it only after the primary's 30 s");
}

/// The other way round: while the primary's breaker is open the fallback serves and answers
/// a 429 with Retry-After 30 s; when the primary's breaker half-opens 10 ms later, the
/// primary takes the next request then, not after the fallback's 30 s.
#[test]
fn a_fallback_retry_after_does_not_block_the_primary() {
    let mut upstream = UpstreamConfig::reactive(BackoffConfig::default());
    upstream.fallback = true;
    let open_for = Duration::from_millis(10);
    upstream.breaker = Some(BreakerConfig::new(1, open_for, 1).expect("valid"));
    let mut e = engine(10, upstream);
    let t = Time::ZERO;
    assert!(matches!(e.on_request(t, meta(0)), Admission::Accepted(_)));
    let first = e.poll_dispatch(t).expect("sent");
    e.on_response(t, first.id, &answer(false, 500, None));
    assert_eq!(e.breaker_level(), 2, "the primary's breaker is open");
    assert!(matches!(e.on_request(t, meta(1)), Admission::Accepted(_)));
    let (second, _) = next_dispatch(&mut e, t);
    assert_eq!(second.target, Target::Fallback);
    e.on_response(t, second.id, &answer(false, 429, Some(RETRY_AFTER)));
    assert!(matches!(e.on_request(t, meta(2)), Admission::Accepted(_)));
    let (third, at) = next_dispatch(&mut e, t);
    assert_eq!(third.target, Target::Primary);
    assert!(
        at < Time::ZERO.saturating_add(RETRY_AFTER),
        "the primary waited for the fallback's Retry-After (sent at {at:?})"
    );
}
