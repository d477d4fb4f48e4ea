//! A request admitted on an upstream key that expires while it waits in the queue is sent on
//! the key usable then (the engine asks the budget again at dispatch): the layer's
//! `x-ratelimit-*` headers show that key's bucket, the one the caller's next request is
//! charged to, and its inner service is told to call with that key.

use super::budget_gate::{self, ENVIRONMENT, SERVICE};
use super::layer_parts::as_one_user;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use spillway_core::budget::{Settlement, Ticket};
use spillway_core::clock::{Clock, WallClock};
use spillway_core::engine::{
    Engine, EngineConfig, RequestMeta, Spend, SpendGate, SpendStep, UpstreamConfig,
};
use spillway_core::keys::{KeyId, KeyPolicy, KeyRing, KeyRole, KeySpec, SecretSource};
use spillway_core::limit::Layered;
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_core::{Duration, Time};
use spillway_gateway::{Dispatched, Runtime};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const DAY: Duration = Duration::from_secs(86_400);

/// A budget gate that sees time `by` ahead of the engine: the test moves it past a key's
/// expiry as a value, without waiting for the wall clock.
struct Ahead {
    gate: SpendGate,
    by: Arc<AtomicU64>,
}

impl Ahead {
    fn at(&self, now: Time) -> Time {
        now.saturating_add(Duration::from_nanos(self.by.load(Ordering::Relaxed)))
    }
}

impl Spend<()> for Ahead {
    fn key(&mut self, now: Time, request: &RequestMeta<()>) -> Option<u64> {
        let now = self.at(now);
        Spend::key(&mut self.gate, now, request)
    }
    fn key_usable(&self, now: Time, api_key: u64) -> bool {
        self.gate.key_usable(self.at(now), api_key)
    }
    fn decide(&mut self, now: Time, request: &RequestMeta<()>, api_key: Option<u64>) -> SpendStep {
        let now = self.at(now);
        self.gate.decide(now, request, api_key)
    }
    fn complete(&mut self, now: Time, t: Ticket, input: u64, output: u64) -> Option<Settlement> {
        let now = self.at(now);
        Spend::<()>::complete(&mut self.gate, now, t, input, output)
    }
    fn bill(&mut self, now: Time, t: Ticket, input: u64, output: u64) -> Option<Settlement> {
        let now = self.at(now);
        Spend::<()>::bill(&mut self.gate, now, t, input, output)
    }
    fn cancel(&mut self, now: Time, ticket: Ticket) {
        let now = self.at(now);
        Spend::<()>::cancel(&mut self.gate, now, ticket);
    }
    fn downgrade(&mut self, ticket: &mut Ticket) {
        Spend::<()>::downgrade(&mut self.gate, ticket);
    }
}

/// The primary key, expiring in a day, and the secondary, valid for a month; no overlap, so
/// the primary carries every request while it is valid.
fn two_keys() -> KeyRing {
    let now = WallClock::new().now();
    let since = Time::from_nanos(now.as_nanos() - DAY.as_nanos());
    let key = |name: &str, role, expires_at| KeySpec {
        name: name.into(),
        environment: ENVIRONMENT.into(),
        service: SERVICE.into(),
        role,
        source: SecretSource::Env(name.to_uppercase()),
        not_before: since,
        expires_at,
        budget: None,
    };
    let keys = vec![
        key("expiring", KeyRole::Primary, now.saturating_add(DAY)),
        key(
            "lasting",
            KeyRole::Secondary,
            since.saturating_add(Duration::from_secs(30 * 86_400)),
        ),
    ];
    let policy = KeyPolicy {
        rotation_overlap: Duration::ZERO,
        ..KeyPolicy::default()
    };
    KeyRing::load(keys, policy, |source| {
        Ok(format!("sk-test-0123456789abcd-{source}"))
    })
    .expect("the keys load")
}

fn key_id(name: &str) -> u64 {
    KeyId::derive(ENVIRONMENT, SERVICE, name).0
}

/// One call in flight; each upstream key may carry 3 requests an hour; the budget's time is
/// `by` ahead.
fn runtime(by: Arc<AtomicU64>) -> super::layer_parts::Rt<Layered, Ahead> {
    let per_key = super::layer_parts::three_requests_a_key_an_hour();
    let config = EngineConfig {
        max_in_flight: 1,
        max_requests: 100,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream: UpstreamConfig::reactive(BackoffConfig::default()),
    };
    let spend = Ahead {
        gate: budget_gate::gate_with(false, two_keys()),
        by,
    };
    let layers = Layered::new(vec![per_key]).unwrap();
    let rng = || ChaCha8Rng::seed_from_u64(1);
    let engine = Engine::new(config, layers, spend, rng(), rng()).unwrap();
    Runtime::start(engine, vec!["per-key".into()])
}

fn get_root() -> Request<Body> {
    Request::get("/").body(Body::empty()).unwrap()
}

/// Before: the headers showed the bucket of the key the request was admitted with, which
/// had expired by the time it was sent and carries nothing more.
#[tokio::test]
async fn a_request_rekeyed_in_the_queue_shows_the_bucket_of_the_key_it_was_sent_with() {
    let by = Arc::new(AtomicU64::new(0));
    let rt = runtime(by.clone());
    let keys_sent = Arc::new(Mutex::new(Vec::new()));
    let record = {
        let keys_sent = keys_sent.clone();
        move |req: Request<Body>| async move {
            let sent = req.extensions().get::<Dispatched>().map(|d| d.api_key);
            keys_sent.lock().unwrap().push(sent.flatten());
            "hello"
        }
    };
    let app = as_one_user(&rt, Router::new().route("/", get(record)));
    // The one call allowed in flight, held open by its unread body; on the expiring key.
    let first = app.clone().oneshot(get_root()).await.unwrap();
    assert_eq!(first.headers()["x-ratelimit-remaining-requests"], "2");
    let second = tokio::spawn(app.clone().oneshot(get_root()));
    while rt.with_state(|s, _| s.engine.queued_in(0)) != 1 {
        tokio::task::yield_now().await;
    }
    // Admitted on the expiring key, which has now carried (and been charged for) both.
    let room = |name: &str| {
        rt.with_state(|s, now| {
            let subject = spillway_core::limit::Subject {
                user: 1,
                team: 0,
                feature: 0,
                api_key: key_id(name),
            };
            s.engine.limiter().room(now, &subject)[0].remaining
        })
    };
    assert_eq!((room("expiring"), room("lasting")), (1, 3));
    // Two days pass for the budget while the second request waits: the key expires.
    by.store(2 * DAY.as_nanos(), Ordering::Relaxed);
    axum::body::to_bytes(first.into_body(), 1 << 16)
        .await
        .unwrap();
    let second = second.await.unwrap().unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    // The lasting key carried it: its bucket, untouched (the layers keep their admission).
    assert_eq!(second.headers()["x-ratelimit-limit-requests"], "3");
    assert_eq!(second.headers()["x-ratelimit-remaining-requests"], "3");
    // And the inner service was told which key to call with, each time.
    let (expiring, lasting) = (key_id("expiring"), key_id("lasting"));
    assert_eq!(*keys_sent.lock().unwrap(), [Some(expiring), Some(lasting)]);
}
