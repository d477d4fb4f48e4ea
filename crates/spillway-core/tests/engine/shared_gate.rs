//! Which answers close the gateway-wide Retry-After gate: a 429 (or 503) whose hint the
//! client obeys ([`RetryAfterUse`]), under a coordinated policy, reactive or proactive alike.
//! Any other hint waits out only its own request's retry.

use super::plain::{Plain, admit, engine, with_headers};
use spillway_core::Time;
use spillway_core::engine::UpstreamConfig;
use spillway_core::upstream::{BackoffConfig, ClientPreset, RetryAfterUse};

/// A proactive policy (no margin) with `backoff`, coordinated or not.
fn proactive(backoff: BackoffConfig, coordinated: bool) -> Plain {
    let mut upstream = UpstreamConfig::reactive(backoff);
    upstream.proactive_margin_ppm = Some(0);
    upstream.coordinated = coordinated;
    engine(10, upstream)
}

/// The first request gets an answer with `status` and `retry-after: secs`; whether a second
/// request that arrives at the same instant goes at once.
fn second_goes_at_once(mut e: Plain, status: u16, secs: &str) -> bool {
    let t = Time::ZERO;
    admit(&mut e, t, 0);
    let first = e.poll_dispatch(t).expect("sent");
    e.on_response(t, first.id, &with_headers(status, &[("retry-after", secs)]));
    admit(&mut e, t, 1);
    e.poll_dispatch(t).is_some_and(|d| d.id != first.id)
}

/// The control: a coordinated policy obeys a 429's Retry-After for every request.
#[test]
fn a_coordinated_429_pauses_every_request() {
    let e = proactive(BackoffConfig::default(), true);
    assert!(!second_goes_at_once(e, 429, "30"));
    let e = proactive(BackoffConfig::default(), true);
    assert!(
        !second_goes_at_once(e, 503, "30"),
        "a 503's Retry-After means it too"
    );
}

/// `coordinated: false` says a Retry-After pauses only its own request, whether or not the
/// policy also models the provider's quota from the same headers.
#[test]
fn an_uncoordinated_proactive_policy_is_not_paused_by_another_request_s_hint() {
    let e = proactive(BackoffConfig::default(), false);
    assert!(second_goes_at_once(e, 429, "30"));
}

/// A client that ignores Retry-After, or (openai-python) refuses one over 120 s, does not let
/// it pause the gateway either: Azure's "retry after 86400 seconds" would stop it for a day.
#[test]
fn a_hint_the_client_would_not_obey_pauses_nothing() {
    let sdk = ClientPreset::OpenAiPython.backoff();
    assert!(second_goes_at_once(proactive(sdk, true), 429, "86400"));
    let ignoring = BackoffConfig::default().with_retry_after(RetryAfterUse::Ignore);
    assert!(second_goes_at_once(proactive(ignoring, true), 429, "30"));
    let sdk = ClientPreset::OpenAiPython.backoff();
    assert!(
        !second_goes_at_once(proactive(sdk, true), 429, "30"),
        "30 s it obeys"
    );
}

/// A hint on an answer that is not a refusal (Azure's streaming 200 carries `retry-after: 4`)
/// or on a client's own error says nothing about the next request.
#[test]
fn only_a_refusal_s_hint_pauses_the_gateway() {
    for status in [200, 400] {
        let e = proactive(BackoffConfig::default(), true);
        assert!(
            second_goes_at_once(e, status, "30"),
            "a {status}'s hint paused it"
        );
    }
}
