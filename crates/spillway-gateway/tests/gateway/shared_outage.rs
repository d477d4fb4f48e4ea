//! A request the failure policy admitted while Redis was away, taken through the gateway's
//! engine (the shared layers' verdict handed over with `Runtime::admit_prepaid`, the upstream's
//! answer, the usage), settles on this instance's local share only, never in Redis: the engine
//! carries its `RedisReservation` (who admitted it) from the admission to the settle task. The
//! gateway's mirror of spillway-redis' `tests/redis/settle_outage.rs`. (`spillway serve`
//! connects with the default fail-closed policy, which admits nothing during an outage: this
//! path is the library's, for a gateway built on fail-open or a local fallback.)
//!
//! Redis keeps its data across restarts (AOF `always`). Redis admits `BEFORE` for the subject
//! (another replica); Redis is killed and the request reserves `ESTIMATE`, admitted by the
//! local share; Redis is restarted, then the request completes having used `ACTUAL` (a refund),
//! so a settle sent to Redis would find it up. With Redis killed again the local share must
//! have exactly `LIMIT − ACTUAL` room (polled until the settle task has run), and with Redis
//! back, Redis exactly `LIMIT − BEFORE`.

use rand_chacha::ChaCha8Rng;
use spillway_core::Duration;
use spillway_core::engine::{
    Completion, EngineConfig, NoSpend, RequestMeta, Response, UpstreamConfig,
};
use spillway_core::limit::{
    Algorithm, Demand, LayerSpec, LayeredDecision, LimitSpec, Scope, Subject, Unit,
};
use spillway_core::schedule::SchedulerConfig;
use spillway_core::upstream::BackoffConfig;
use spillway_gateway::{Call, Runtime, ServeLayers, SharedLayers, SharedStore, Step};
use spillway_redis::{FailurePolicy, RedisConfig, RedisLayered, RedisStore, ServedBy};
use spillway_testkit::redis_server::RedisProcess;

const LIMIT: u64 = 100;
const BEFORE: u64 = 60;
const INPUT: u64 = 10;
const ESTIMATE: u64 = INPUT + 20;
/// Below the estimate: the settle is a refund, which Redis would turn into room.
const ACTUAL: u64 = INPUT;
const USER: Subject = Subject {
    user: 7,
    team: 0,
    feature: 0,
    api_key: 0,
};

type Rt = Runtime<(), ServeLayers, NoSpend, ChaCha8Rng>;
type GatewayCall = Call<(), ServeLayers, NoSpend, ChaCha8Rng>;

fn tokens(n: u64) -> Demand {
    Demand {
        requests: 1,
        tokens: n,
    }
}

/// The policy's layers as `name` in the Redis at `url`, answered by `policy` when it is away.
async fn layers(url: &str, policy: FailurePolicy) -> RedisLayered {
    let mut config = RedisConfig::new(url);
    config.failure_policy = policy;
    config.expiry_grace = Duration::from_secs(3600);
    config.response_timeout = std::time::Duration::from_millis(200);
    config.connect_timeout = std::time::Duration::from_millis(200);
    let store = RedisStore::connect(config).await.expect("connect");
    let layer = LayerSpec {
        name: "tokens".into(),
        scope: Scope::User,
        unit: Unit::Tokens,
        limit: LimitSpec {
            algorithm: Algorithm::SlidingLog,
            limit: LIMIT,
            window: Duration::from_secs(3600),
            burst: None,
        },
    };
    RedisLayered::new(&store, "outage", vec![layer]).expect("layers")
}

/// A gateway on `layers`, failing open (one replica: its local share is the whole limit).
fn gateway(layers: RedisLayered) -> (Rt, SharedStore) {
    let shared = SharedLayers::new(layers);
    let store = shared.store();
    let config = EngineConfig {
        max_in_flight: 10,
        max_requests: 100,
        deadlines: vec![None; 4],
        scheduler: SchedulerConfig::default(),
        upstream: UpstreamConfig::reactive(BackoffConfig::default()),
    };
    (
        super::store_outage::start(config, ServeLayers::Shared(shared)),
        store,
    )
}

/// The request: reserved while Redis is away, sent, answered; returns it ready to complete.
async fn admitted_by_the_policy(rt: &Rt, store: &SharedStore) -> GatewayCall {
    let prepaid = store.reserve(rt.now(), &USER, tokens(ESTIMATE)).await;
    let reserved = prepaid
        .as_ref()
        .ok()
        .and_then(|v| v.as_ref().ok())
        .expect("the local share admits the estimate");
    assert_eq!(reserved.charged_by(), ServedBy::FailOpen);
    let meta = RequestMeta {
        user: USER.user,
        team: 0,
        feature: 0,
        class: 0,
        input_tokens: INPUT,
        output_estimate: ESTIMATE - INPUT,
        max_tokens: ESTIMATE - INPUT,
        payload: (),
    };
    let admitted = rt.admit_prepaid(meta, Some(prepaid), |_| {});
    let mut call = admitted.expect("the engine admits the prepaid verdict");
    assert!(matches!(call.next().await, Step::Send(_)), "sent upstream");
    call.respond(&Response {
        accepted: true,
        status: 200,
        retry_after: None,
        body_retry_after: None,
        snapshot: None,
    });
    call
}

/// With Redis away: the local share admits exactly `room` more (asked until the settle task
/// has given back what it refunds; a denial charges nothing).
async fn assert_local_room(rt: &Rt, store: &SharedStore, room: u64) {
    let mut fits = false;
    for _ in 0..100 {
        if let Ok(Ok(r)) = store.reserve(rt.now(), &USER, tokens(room)).await {
            assert_eq!(r.charged_by(), ServedBy::FailOpen);
            fits = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        fits,
        "the local share never had {room} room: the settle missed it"
    );
    let more = store.reserve(rt.now(), &USER, tokens(1)).await;
    assert!(
        matches!(more, Ok(Err(_))),
        "the local share had more than {room} room"
    );
}

/// Redis' room for the subject is exactly `room` (asked until Redis answers again).
async fn assert_redis_room(rt: &Rt, other: &RedisLayered, room: u64) {
    let fits = async |n| {
        for _ in 0..100 {
            let v = other
                .check(rt.now(), &USER, tokens(n))
                .await
                .expect("check");
            if v.served_by == ServedBy::Redis {
                return v.decision == LayeredDecision::Allowed;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("Redis never answered again");
    };
    assert!(fits(room).await, "Redis has less than {room} room");
    assert!(!fits(room + 1).await, "Redis has more than {room} room");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_policy_admitted_settles_on_the_local_share_only() {
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let Some(mut redis) = RedisProcess::start(&aof, "the gateway's settle after an outage") else {
        return;
    };
    let (rt, store) = gateway(layers(&redis.url(), FailurePolicy::FailOpen).await);
    let closed = FailurePolicy::FailClosed {
        retry_after: Duration::from_secs(1),
    };
    let other = layers(&redis.url(), closed).await;
    let v = other.acquire(rt.now(), &USER, tokens(BEFORE)).await;
    assert_eq!(v.expect("acquire").decision, LayeredDecision::Allowed);

    redis.kill();
    let call = admitted_by_the_policy(&rt, &store).await;
    redis.restart();
    call.complete(Completion {
        input_tokens: INPUT,
        output_tokens: ACTUAL - INPUT,
        failed: false,
    });

    redis.kill();
    assert_local_room(&rt, &store, LIMIT - ACTUAL).await;
    redis.restart();
    assert_redis_room(&rt, &other, LIMIT - BEFORE).await;
}
