//! With the layers in Redis, the proxy reserves there first and hands the verdict to the
//! engine ([`Runtime::admit_prepaid`]). A request the engine then refuses keeps nothing
//! charged in Redis: a full gateway refuses before its layers take the verdict (it goes back
//! at once, and no later admission takes it as its own); a budget refusal settles the tokens.

use super::store_outage::{self, LIMIT, tokens_layer};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use spillway_core::Time;
use spillway_core::budget::{Settlement, Ticket};
use spillway_core::engine::{
    Engine, EngineConfig, Rejection, RequestMeta, Spend, SpendRefusal, SpendStep,
};
use spillway_core::limit::{Demand, Subject};
use spillway_gateway::{Runtime, ServeLayers, SharedLayers, SharedStore, Step};
use spillway_testkit::redis_server::RedisProcess;

const SUBJECT: Subject = Subject {
    user: 1,
    team: 0,
    feature: 0,
    api_key: 0,
};

/// One call in flight, one queued, at most two inside.
fn config() -> EngineConfig {
    store_outage::config(2)
}

fn meta(tokens: u64) -> RequestMeta<()> {
    store_outage::meta(2, tokens)
}

/// Shared layers in a fresh Redis, and the handle the proxy reserves with.
async fn shared(redis: &RedisProcess, prefix: &str) -> (ServeLayers, SharedStore) {
    let config = spillway_redis::RedisConfig::new(redis.url());
    let store = spillway_redis::RedisStore::connect(config)
        .await
        .expect("redis");
    let layered =
        spillway_redis::RedisLayered::new(&store, prefix, tokens_layer()).expect("layers");
    let layers = SharedLayers::new(layered);
    let handle = layers.store();
    (ServeLayers::Shared(layers), handle)
}

/// As the proxy admits: Redis first, then the engine with the verdict.
async fn admit<S: Spend<()> + Send + 'static>(
    rt: &Runtime<(), ServeLayers, S, ChaCha8Rng>,
    handle: &SharedStore,
    tokens: u64,
) -> Result<spillway_gateway::Call<(), ServeLayers, S, ChaCha8Rng>, Rejection> {
    let demand = Demand {
        requests: 1,
        tokens,
    };
    let verdict = handle.reserve(rt.now(), &SUBJECT, demand).await;
    assert!(matches!(verdict, Ok(Ok(_))), "Redis admits {tokens} tokens");
    rt.admit_prepaid(meta(tokens), Some(verdict), |_| {})
        .map_err(|r| r.why)
}

/// Whether the whole limit is free again in Redis (a refund is applied by the settling task,
/// so it is polled for; a probe that fits stays charged: check last).
async fn all_room_back(handle: &SharedStore, now: impl Fn() -> Time) -> bool {
    let all = Demand {
        requests: 1,
        tokens: LIMIT,
    };
    for _ in 0..500 {
        if matches!(handle.reserve(now(), &SUBJECT, all).await, Ok(Ok(_))) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_refusal_gives_its_redis_reservation_back_and_to_nobody_else() {
    let Some(redis) = RedisProcess::start(&[], "a Full refusal's Redis refund") else {
        return;
    };
    let (layers, handle) = shared(&redis, "full").await;
    let rt = store_outage::start(config(), layers);
    let mut a = admit(&rt, &handle, 0).await.expect("A admitted");
    assert!(matches!(a.next().await, Step::Send(_)), "A in flight");
    let b = admit(&rt, &handle, 0).await.expect("B queued");
    // C: Redis admits its whole limit, the engine is full.
    assert!(matches!(
        admit(&rt, &handle, LIMIT).await,
        Err(Rejection::Full)
    ));
    assert!(
        all_room_back(&handle, || rt.now()).await,
        "C's {LIMIT} tokens stay charged in Redis after its Full refusal"
    );
    // Room inside again; an admission handed no verdict must not find C's.
    drop((a, b));
    let next = rt.admit_prepaid(meta(1), None, |_| {});
    rt.close();
    assert!(
        matches!(
            next.map(drop).map_err(|r| r.why),
            Err(Rejection::Layers { .. })
        ),
        "an admission without a verdict took the refused request's"
    );
}

/// A budget that refuses everything (its other answers are never asked for).
struct Refusing;

impl Spend<()> for Refusing {
    fn key(&mut self, _: Time, _: &RequestMeta<()>) -> Option<u64> {
        None
    }
    fn key_usable(&self, _: Time, _: u64) -> bool {
        true
    }
    fn decide(&mut self, _: Time, _: &RequestMeta<()>, _: Option<u64>) -> SpendStep {
        SpendStep::Refuse(SpendRefusal::NoKey)
    }
    fn complete(&mut self, _: Time, _: Ticket, _: u64, _: u64) -> Option<Settlement> {
        None
    }
    fn bill(&mut self, _: Time, _: Ticket, _: u64, _: u64) -> Option<Settlement> {
        None
    }
    fn cancel(&mut self, _: Time, _: Ticket) {}
    fn downgrade(&mut self, _: &mut Ticket) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_refusal_gives_its_redis_tokens_back() {
    let Some(redis) = RedisProcess::start(&[], "a budget refusal's Redis refund") else {
        return;
    };
    let (layers, handle) = shared(&redis, "budget").await;
    let engine = Engine::new(config(), layers, Refusing, rng(), rng()).unwrap();
    let rt = Runtime::start(engine, vec!["tokens".into()]);
    let refused = admit(&rt, &handle, LIMIT).await.map(drop);
    assert!(matches!(refused, Err(Rejection::Budget(_))), "{refused:?}");
    let back = all_room_back(&handle, || rt.now()).await;
    rt.close();
    assert!(
        back,
        "the budget's refusal left {LIMIT} tokens charged in Redis"
    );
}

/// An admission still waiting on Redis when the runtime closes (serve's drain deadline) is
/// refused when it reaches the engine, and its Redis reservation goes back. Admitted, it would
/// sit in a runtime whose timer has stopped and whose requests were cut: never sent, and its
/// reservation settled only if the handler's drop came before the settle queues flushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_that_reaches_a_closed_runtime_is_refused_and_gives_back() {
    let Some(redis) = RedisProcess::start(&[], "an admission after close") else {
        return;
    };
    let (layers, handle) = shared(&redis, "closed").await;
    let rt = store_outage::start(config(), layers);
    let demand = Demand {
        requests: 1,
        tokens: LIMIT,
    };
    let verdict = handle.reserve(rt.now(), &SUBJECT, demand).await;
    assert!(matches!(verdict, Ok(Ok(_))), "Redis admits {LIMIT} tokens");
    // The runtime closes while the admission has Redis' answer but not yet the engine's.
    rt.close();
    let admitted = rt.admit_prepaid(meta(LIMIT), Some(verdict), |_| {});
    assert!(
        matches!(admitted.map(drop).map_err(|r| r.why), Err(Rejection::Full)),
        "a closed runtime admitted a request"
    );
    assert!(
        all_room_back(&handle, || rt.now()).await,
        "the refused admission's {LIMIT} tokens stay charged in Redis"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demand_no_shared_layer_can_hold_is_refused_as_never_fitting_not_as_an_outage() {
    let Some(redis) = RedisProcess::start(&[], "a never-fitting demand on Redis") else {
        return;
    };
    let (layers, handle) = shared(&redis, "never").await;
    let rt = store_outage::start(config(), layers);
    let demand = Demand {
        requests: 1,
        tokens: LIMIT + 1,
    };
    let verdict = handle.reserve(rt.now(), &SUBJECT, demand).await;
    let why = rt
        .admit_prepaid(meta(LIMIT + 1), Some(verdict), |_| {})
        .map(drop)
        .map_err(|r| r.why);
    rt.close();
    // Before: a store error, so a denial naming no layer: the client's 503 "retry in a
    // second", forever, and an outage in the metrics; with local layers the same request is
    // the 400 of a demand that can never fit.
    assert!(
        matches!(why, Err(Rejection::NeverFits)),
        "refused as {why:?}"
    );
}
