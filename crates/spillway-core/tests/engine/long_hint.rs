//! An absurd Retry-After (one that saturates, a far-future HTTP-date) under the default
//! policy: the refused request gives up, and the provider is paused for
//! `DEFAULT_MAX_RETRY_AFTER` only, not for good. An explicit bound keeps its own value.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::engine::{
    Admission, Departure, Engine, EngineConfig, EngineEvent, NoSpend, RequestMeta, Response,
    UpstreamConfig,
};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::headers::{Provider, parse_headers};
use spillway_core::upstream::{BackoffConfig, DEFAULT_MAX_RETRY_AFTER, Target};
use spillway_core::{Duration, Time};

type Plain = Engine<u64, Layered, NoSpend, ChaCha8Rng>;

/// The default set-up: no SDK preset, Retry-After obeyed "at least", coordinated waits.
fn engine(backoff: BackoffConfig) -> Plain {
    let config = EngineConfig {
        max_in_flight: 4,
        max_requests: 100,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream: UpstreamConfig::reactive(backoff),
    };
    let layers = Layered::new(Vec::<LayerSpec>::new()).expect("no layers");
    let rng = |s| ChaCha8Rng::seed_from_u64(s);
    Engine::new(config, layers, NoSpend, rng(1), rng(2)).expect("valid engine")
}

fn meta(user: u64) -> RequestMeta<u64> {
    RequestMeta {
        user,
        team: 0,
        feature: 0,
        class: 0,
        input_tokens: 10,
        output_estimate: 10,
        max_tokens: 10,
        payload: user,
    }
}

/// A 429 with these headers for a request sent at `t0`: how its request left (`None`: it
/// waits to retry), and when the primary opens again.
fn refuse_with(e: &mut Plain, t0: Time, headers: &[(&str, &str)]) -> (Option<Departure>, Time) {
    let Admission::Accepted(_) = e.on_request(t0, meta(1)) else {
        panic!("admitted");
    };
    let sent = e.poll_dispatch(t0).expect("sent at once");
    let snapshot = parse_headers(headers.iter().copied(), Provider::Auto, None);
    let refusal = Response {
        accepted: false,
        status: 429,
        retry_after: snapshot.retry_after,
        body_retry_after: None,
        snapshot: None,
    };
    e.on_response(t0, sent.id, &refusal);
    let how = std::iter::from_fn(|| e.poll_event()).find_map(|event| match event {
        EngineEvent::Departed { how, .. } => Some(how),
        _ => None,
    });
    (how, e.gate_until(t0, Target::Primary))
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
        let mut e = engine(BackoffConfig::default());
        let (how, open_at) = refuse_with(&mut e, t0, headers);
        assert_eq!(
            how,
            Some(Departure::Failed),
            "{headers:?}: gives up at once"
        );
        assert_eq!(open_at, t0.saturating_add(DEFAULT_MAX_RETRY_AFTER));
        // Just past the bound, another user's request goes.
        let later = open_at.saturating_add(Duration::from_secs(1));
        let Admission::Accepted(_) = e.on_request(later, meta(2)) else {
            panic!("admitted");
        };
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
        let mut e = engine(backoff);
        let (how, open_at) = refuse_with(&mut e, t0, headers);
        assert_eq!(
            how,
            left,
            "{headers:?} under {:?}",
            backoff.max_retry_after()
        );
        assert_eq!(open_at, t0.saturating_add(Duration::from_secs(paused_s)));
    }
}
