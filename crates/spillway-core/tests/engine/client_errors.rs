//! A client's own error (400, 404, 413, 422 ...) is the caller's answer: not retried, not a
//! breaker failure. What the official SDKs retry (408, 409, 429, >= 500) is the provider's
//! trouble: retried, and (except 429, which has its own path) a breaker failure. So is a 401 or
//! 403: it refuses the gateway's own key, which the fallback does not share; it is retried only
//! where a fallback can take the retry (the same key would be refused again).

use super::plain::{Plain, admit, answer, engine, with_headers};
use spillway_core::engine::UpstreamConfig;
use spillway_core::upstream::{BackoffConfig, BreakerConfig, Target};
use spillway_core::{Duration, Time};

/// A reactive policy whose breaker opens after `threshold` failures in a row.
pub fn with_breaker(threshold: u32) -> UpstreamConfig {
    let mut upstream = UpstreamConfig::reactive(BackoffConfig::default());
    let breaker = BreakerConfig::new(threshold, Duration::from_secs(30), 1).expect("valid");
    upstream.breaker = Some(breaker);
    upstream
}

/// One request admitted and sent at t = 0, and answered `status`.
fn answered_once(e: &mut Plain, status: u16) {
    admit(e, Time::ZERO, 0);
    let d = e.poll_dispatch(Time::ZERO).expect("sent");
    e.on_response(Time::ZERO, d.id, &answer(false, status, None));
}

/// Two of one user's malformed requests must not take the provider away from every tenant
/// (breaker threshold 2), and a request that can never succeed is not sent again.
#[test]
fn a_client_s_400s_do_not_trip_the_breaker() {
    for status in [400, 404, 413, 422] {
        let mut e = engine(10, with_breaker(2));
        let t = Time::ZERO;
        for user in 0..2 {
            admit(&mut e, t, user);
            let d = e.poll_dispatch(t).expect("sent");
            assert_eq!(d.attempt, 1);
            e.on_response(t, d.id, &answer(false, status, None));
        }
        assert_eq!(e.breaker_level(), 0, "two {status}s opened the breaker");
        assert_eq!(e.len(), 0, "a {status} is not retried (it never succeeds)");
        assert!(
            e.poll_timeout().is_none(),
            "no retry is pending after a {status}"
        );
    }
}

/// A 5xx, a timeout (408), a conflict (409) and a connection error (the gateway reports it as
/// 502) are retried and count toward the breaker.
#[test]
fn provider_failures_are_retried_and_trip_the_breaker() {
    for status in [408, 409, 500, 502, 503, 529] {
        let mut e = engine(10, with_breaker(1));
        answered_once(&mut e, status);
        assert_eq!(e.breaker_level(), 2, "a {status} is a provider failure");
        assert_eq!(e.len(), 1, "a {status} is retried");
        assert!(e.poll_timeout().is_some(), "its retry is scheduled");
    }
}

/// Without a fallback, a refused gateway key is final: the same key would be refused again, so
/// the request leaves at once (the caller gets the provider's 401 or 403) instead of spending
/// every attempt on it; the breaker still counts it, as the provider fails every caller.
#[test]
fn a_refused_gateway_key_without_a_fallback_is_not_retried() {
    for status in [401, 403] {
        let mut e = engine(10, with_breaker(1));
        answered_once(&mut e, status);
        assert_eq!(e.breaker_level(), 2, "a {status} is a provider failure");
        assert_eq!(e.len(), 0, "a {status} without a fallback is not retried");
        assert!(
            e.poll_timeout().is_none(),
            "no retry is pending after a {status}"
        );
    }
}

/// The primary refuses the gateway's key (revoked, expired, no permission): its breaker opens
/// and the refused request's retry, like the next request, goes to the fallback, whose key
/// works, instead of every caller getting the primary's 401.
#[test]
fn a_refused_gateway_key_fails_over_to_the_fallback() {
    for status in [401, 403] {
        let mut upstream = with_breaker(1);
        upstream.fallback = true;
        let mut e = engine(10, upstream);
        let t = Time::ZERO;
        admit(&mut e, t, 0);
        let first = e.poll_dispatch(t).expect("sent");
        assert_eq!(first.target, Target::Primary);
        e.on_response(t, first.id, &answer(false, status, None));
        let mut now = t;
        let retry = loop {
            if let Some(d) = e.poll_dispatch(now) {
                break d;
            }
            now = e.poll_timeout().expect("the retry is pending");
            e.handle_timeout(now);
        };
        assert_eq!(retry.id, first.id, "the refused request is retried");
        assert_eq!(retry.target, Target::Fallback, "after a {status}");
    }
}

/// `x-should-retry` overrides the status for the retry, as in the SDKs: a 503 the server says
/// not to retry leaves at once (still a breaker failure: the breaker counts by status), and a
/// 400 it says to retry is sent again.
#[test]
fn x_should_retry_overrides_the_status_for_the_retry() {
    for (status, told, retried) in [(503, "false", false), (400, "true", true)] {
        let mut e = engine(10, with_breaker(5));
        let t = Time::ZERO;
        admit(&mut e, t, 0);
        let d = e.poll_dispatch(t).expect("sent");
        e.on_response(t, d.id, &with_headers(status, &[("x-should-retry", told)]));
        assert_eq!(e.len(), usize::from(retried), "{status} told {told}");
        assert_eq!(e.poll_timeout().is_some(), retried, "{status} told {told}");
    }
}
