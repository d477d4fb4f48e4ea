//! A second provider has its own limits: one provider's Retry-After is a floor for the sends
//! to that provider only, and spills to the fallback go through its breaker like any send.

use super::plain::{Plain, admit, answer, engine};
use spillway_core::engine::{Completion, Dispatch, UpstreamConfig};
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
    admit(&mut e, t, 0);
    let first = e.poll_dispatch(t).expect("sent");
    assert_eq!(first.target, Target::Primary);
    e.on_response(t, first.id, &answer(false, 429, Some(RETRY_AFTER)));
    admit(&mut e, t, 1);
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
    admit(&mut e, t, 0);
    let first = e.poll_dispatch(t).expect("sent");
    e.on_response(t, first.id, &answer(false, 500, None));
    assert_eq!(e.breaker_level(), 2, "the primary's breaker is open");
    admit(&mut e, t, 1);
    let (second, _) = next_dispatch(&mut e, t);
    assert_eq!(second.target, Target::Fallback);
    e.on_response(t, second.id, &answer(false, 429, Some(RETRY_AFTER)));
    admit(&mut e, t, 2);
    let (third, at) = next_dispatch(&mut e, t);
    assert_eq!(third.target, Target::Primary);
    assert!(
        at < Time::ZERO.saturating_add(RETRY_AFTER),
        "the primary waited for the fallback's Retry-After (sent at {at:?})"
    );
}

/// Spilling to the fallback (proactive + `fallback_after_wait`) takes the fallback's breaker
/// permit like any send: 10 ms after a spill failed (threshold 1), the half-open breaker lets
/// its one probe through, and no more.
#[test]
fn spills_respect_the_fallback_breaker_s_probe_limit() {
    use super::plain::with_headers;
    let mut upstream = UpstreamConfig::reactive(BackoffConfig::default());
    upstream.proactive_margin_ppm = Some(0);
    upstream.fallback = true;
    upstream.fallback_after_wait = Some(Duration::ZERO);
    upstream.breaker = Some(BreakerConfig::new(1, Duration::from_millis(10), 1).expect("valid"));
    let mut e = engine(100, upstream);
    let t0 = Time::ZERO;
    admit(&mut e, t0, 0);
    let first = e.poll_dispatch(t0).expect("sent");
    let exhausted = [
        ("x-ratelimit-limit-requests", "60"),
        ("x-ratelimit-remaining-requests", "0"),
    ];
    e.on_response(t0, first.id, &with_headers(200, &exhausted));
    // The primary is out of requests for 1 s. A request that waited spills to the fallback,
    // which fails: its breaker (threshold 1) opens for 10 ms.
    admit(&mut e, t0, 1);
    assert!(e.poll_dispatch(t0).is_none(), "staged for the primary");
    let t1 = Time::from_nanos(100_000_000);
    admit(&mut e, t1, 2);
    let spilled = e.poll_dispatch(t1).expect("spilled");
    assert_eq!(spilled.target, Target::Fallback);
    e.on_response(t1, spilled.id, &answer(false, 500, None));
    for user in 3..8 {
        admit(&mut e, t1, user);
        assert!(
            e.poll_dispatch(t1).is_none(),
            "the fallback's breaker is open"
        );
    }
    // 10 ms later the fallback's breaker half-opens with one probe: at most one call goes.
    let t2 = Time::from_nanos(200_000_000);
    admit(&mut e, t2, 8);
    let spills = |e: &mut Plain| {
        std::iter::from_fn(|| e.poll_dispatch(t2))
            .filter(|d| d.target == Target::Fallback)
            .map(|d| d.id)
            .collect::<Vec<_>>()
    };
    let probe = spills(&mut e);
    assert_eq!(
        probe.len(),
        1,
        "calls to a half-open fallback allowing 1 probe"
    );
    // The probe's success closes the fallback's breaker: the requests that waited (all but
    // the one that arrived at 200 ms) spill now.
    e.on_response(t2, probe[0], &answer(true, 200, None));
    let done = Completion {
        input_tokens: 10,
        output_tokens: 10,
        failed: false,
    };
    e.on_complete(t2, probe[0], done);
    let rest = spills(&mut e).len();
    assert_eq!(
        rest, 5,
        "the spilled probe's success counts: the breaker closed"
    );
}

/// A request staged for an exhausted primary spills to the fallback as soon as it has waited
/// `fallback_after_wait`, not when something else happens to wake the engine: the engine's
/// next timeout is no later than that moment, and the spill goes then.
#[test]
fn a_staged_request_spills_when_its_wait_is_up() {
    use super::plain::with_headers;
    let mut upstream = UpstreamConfig::reactive(BackoffConfig::default());
    upstream.proactive_margin_ppm = Some(0);
    upstream.fallback = true;
    let patience = Duration::from_millis(200);
    upstream.fallback_after_wait = Some(patience);
    let mut e = engine(100, upstream);
    let t0 = Time::ZERO;
    admit(&mut e, t0, 0);
    let first = e.poll_dispatch(t0).expect("sent");
    let exhausted = [
        ("x-ratelimit-limit-requests", "60"),
        ("x-ratelimit-remaining-requests", "0"),
        ("x-ratelimit-reset-requests", "30s"),
    ];
    e.on_response(t0, first.id, &with_headers(200, &exhausted));
    admit(&mut e, t0, 1);
    assert!(e.poll_dispatch(t0).is_none(), "staged for the primary");
    let (spilled, at) = next_dispatch(&mut e, t0);
    assert_eq!(spilled.target, Target::Fallback);
    assert!(
        at <= t0
            .saturating_add(patience)
            .saturating_add(Duration::from_millis(1)),
        "spilled at {at:?}, long after waiting {patience:?}"
    );
}
