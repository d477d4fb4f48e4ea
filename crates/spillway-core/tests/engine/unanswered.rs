//! Calls that are sent and never answered: a client that leaves, or a driver that times the
//! call out. Only answers move a half-open breaker on, so a cut probe must give its slot
//! back; and a provider that takes calls and then says nothing must open the breaker, as
//! failures do, or failover never moves the traffic.

use super::client_errors::with_breaker;
use super::plain::{Plain, admit, answer, engine};
use spillway_core::{Duration, Time};

/// Sends until one goes out, letting time pass as the engine asks; `None` if nothing is ever
/// sent within 1,000 steps.
fn next_send(e: &mut Plain, mut now: Time) -> Option<Time> {
    for _ in 0..1_000 {
        if let Some(d) = e.poll_dispatch(now) {
            e.on_response(now, d.id, &answer(true, 200, None));
            return Some(now);
        }
        now = e.poll_timeout()?;
        e.handle_timeout(now);
    }
    None
}

/// Breaker threshold 1, open 30 s, one probe: a 500 opens it; 31 s later the half-open probe
/// is sent and cut (`cut` = the driver's way of ending it). The next request is still sent.
fn after_a_cut_probe(cut: impl Fn(&mut Plain, Time, spillway_core::engine::RequestId)) {
    let mut e = engine(10, with_breaker(1));
    let t = Time::ZERO;
    admit(&mut e, t, 0);
    let first = e.poll_dispatch(t).expect("sent");
    e.on_response(t, first.id, &answer(false, 500, None));
    e.on_cancel(t, first.id);
    assert_eq!(e.breaker_level(), 2, "open");
    let later = t.saturating_add(Duration::from_secs(31));
    admit(&mut e, later, 1);
    let probe = e.poll_dispatch(later).expect("the half-open probe");
    cut(&mut e, later, probe.id);
    admit(&mut e, later, 2);
    assert!(
        next_send(&mut e, later).is_some(),
        "never sent again: breaker level {}",
        e.breaker_level()
    );
}

/// A probe whose client left gives its slot back: the breaker probes again.
#[test]
fn a_probe_whose_client_left_does_not_wedge_the_breaker() {
    after_a_cut_probe(|e, now, id| {
        e.on_cancel_sent(now, id);
    });
}

/// A probe that timed out counts as a failed probe: the breaker opens again for 30 s, then
/// probes again.
#[test]
fn a_probe_that_timed_out_reopens_the_breaker_and_probes_again() {
    after_a_cut_probe(|e, now, id| {
        assert!(e.on_timed_out_sent(now, id));
        assert_eq!(e.breaker_level(), 2, "a silent probe is a failed probe");
    });
}

/// A provider that takes calls and then never answers opens the breaker (threshold 2) as
/// failures do; each timed-out call leaves, and none is sent again.
#[test]
fn timed_out_calls_open_the_breaker_and_are_not_sent_again() {
    let mut e = engine(10, with_breaker(2));
    let t = Time::ZERO;
    for user in 0..2 {
        admit(&mut e, t, user);
    }
    let sent: Vec<_> = std::iter::from_fn(|| e.poll_dispatch(t)).collect();
    assert_eq!(sent.len(), 2);
    for d in &sent {
        assert!(e.on_timed_out_sent(t, d.id));
    }
    assert_eq!(e.breaker_level(), 2, "two silent calls open the breaker");
    assert_eq!(e.len(), 0, "both left");
    assert!(e.poll_dispatch(t).is_none(), "nothing is sent again");
}
