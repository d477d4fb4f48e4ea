//! An absurd Retry-After (one that saturates, a far-future HTTP-date) under the default
//! policy: the refused request gives up, and the provider is paused for
//! `DEFAULT_MAX_RETRY_AFTER` only, not for good. An explicit bound keeps its own value.

use super::plain::{Plain, admit, engine, with_headers};
use spillway_core::engine::{Departure, EngineEvent, UpstreamConfig};
use spillway_core::upstream::{BackoffConfig, DEFAULT_MAX_RETRY_AFTER, Target};
use spillway_core::{Duration, Time};

/// The default set-up (no SDK preset, Retry-After obeyed "at least", coordinated waits) with
/// `backoff`: a 429 with `headers` for a request sent at `t0`. How that request left
/// (`None`: it waits to retry), and when the primary opens again.
fn refused(
    backoff: BackoffConfig,
    t0: Time,
    headers: &[(&str, &str)],
) -> (Plain, Option<Departure>, Time) {
    let mut e = engine(4, UpstreamConfig::reactive(backoff));
    admit(&mut e, t0, 1);
    let sent = e.poll_dispatch(t0).expect("sent at once");
    e.on_response(t0, sent.id, &with_headers(429, headers));
    let how = std::iter::from_fn(|| e.poll_event()).find_map(|event| match event {
        EngineEvent::Departed { how, .. } => Some(how),
        _ => None,
    });
    let open_at = e.gate_until(t0, Target::Primary);
    (e, how, open_at)
}

/// Fails without the bound: the saturated hint closed the gate until `Time::MAX` (nothing
/// sent a day later) and the far-future date for millennia.
#[test]
fn an_absurd_retry_after_pauses_the_provider_for_the_default_bound_only() {
    let t0 = Time::from_secs(1);
    let saturating = [("retry-after", "99999999999999999999")];
    let far_date = [
        ("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
        ("date", "Sat, 05 Dec 2026 17:00:00 GMT"),
    ];
    for headers in [&saturating[..], &far_date[..]] {
        let (mut e, how, open_at) = refused(BackoffConfig::default(), t0, headers);
        assert_eq!(
            how,
            Some(Departure::Failed),
            "{headers:?}: gives up at once"
        );
        assert_eq!(open_at, t0.saturating_add(DEFAULT_MAX_RETRY_AFTER));
        // Just past the bound, another user's request goes.
        let later = open_at.saturating_add(Duration::from_secs(1));
        admit(&mut e, later, 2);
        assert!(e.poll_dispatch(later).is_some(), "{headers:?}: sent again");
    }
}

/// A hint within the bound is obeyed as before; a bound set explicitly is kept, `None`
/// included (any hint is waited for).
#[test]
fn hints_within_the_bound_and_explicit_bounds_are_unchanged() {
    let t0 = Time::from_secs(1);
    let long = [("retry-after", "100000")];
    let cases = [
        (
            BackoffConfig::default(),
            &[("retry-after", "120")],
            None,
            120,
        ),
        (
            BackoffConfig::default(),
            &long,
            Some(Departure::Failed),
            120,
        ),
        (
            BackoffConfig::default().with_max_retry_after(Some(Duration::from_secs(86_400))),
            &long,
            Some(Departure::Failed),
            86_400,
        ),
        (
            BackoffConfig::default().with_max_retry_after(None),
            &long,
            None,
            100_000,
        ),
    ];
    for (backoff, headers, left, paused_s) in cases {
        let (_, how, open_at) = refused(backoff, t0, headers);
        assert_eq!(
            how,
            left,
            "{headers:?} under {:?}",
            backoff.max_retry_after()
        );
        assert_eq!(open_at, t0.saturating_add(Duration::from_secs(paused_s)));
    }
}
