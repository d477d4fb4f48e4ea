//! A plain engine for upstream tests: no limiter layers, no budget, seeded jitter, and the
//! requests and answers those tests send it.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use spillway_core::engine::{
    Admission, Engine, EngineConfig, NoSpend, RequestMeta, Response, UpstreamConfig,
};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::headers::{Provider, parse_headers};
use spillway_core::{Duration, Time};

/// The engine these tests drive.
pub type Plain = Engine<u64, Layered, NoSpend, ChaCha8Rng>;

/// At most `max_in_flight` calls on the wire, 100 requests inside, no deadlines.
pub fn engine(max_in_flight: u64, upstream: UpstreamConfig) -> Plain {
    engine_with(config(max_in_flight, upstream))
}

/// [`engine`]'s configuration, for a test that changes a field before building it.
pub fn config(max_in_flight: u64, upstream: UpstreamConfig) -> EngineConfig {
    EngineConfig {
        max_in_flight,
        max_requests: 100,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream,
    }
}

/// A plain engine on `config`.
pub fn engine_with(config: EngineConfig) -> Plain {
    let layers = Layered::new(Vec::<LayerSpec>::new()).expect("no layers");
    let rng = |s| ChaCha8Rng::seed_from_u64(s);
    Engine::new(config, layers, NoSpend, rng(1), rng(2)).expect("valid engine")
}

/// A small request of `user` in class 0 (its payload is the user).
pub fn meta(user: u64) -> RequestMeta<u64> {
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

/// `user`'s request arrives at `now` and is accepted (asserted).
pub fn admit(e: &mut Plain, now: Time, user: u64) {
    assert!(
        matches!(e.on_request(now, meta(user)), Admission::Accepted(_)),
        "user {user}'s request was not accepted at {now:?}"
    );
}

/// `ms` milliseconds after time zero.
pub fn at_ms(ms: u64) -> Time {
    Time::ZERO.saturating_add(Duration::from_millis(ms))
}

/// An answer with `status` and an optional Retry-After header, without rate-limit headers.
pub fn answer(accepted: bool, status: u16, retry_after: Option<Duration>) -> Response {
    Response {
        accepted,
        status,
        retry_after,
        body_retry_after: None,
        snapshot: None,
    }
}

/// An answer carrying OpenAI-style `headers` (parsed as the gateway parses them).
pub fn with_headers(status: u16, headers: &[(&str, &str)]) -> Response {
    let snapshot = parse_headers(headers.iter().copied(), Provider::OpenAi, None);
    Response {
        accepted: (200..300).contains(&status),
        status,
        retry_after: snapshot.retry_after,
        body_retry_after: None,
        snapshot: Some(Box::new(snapshot)),
    }
}
