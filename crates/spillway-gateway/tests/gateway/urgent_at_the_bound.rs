//! `serve` bounds the requests inside its engine by the queue's capacity plus the calls in
//! flight (crates/spillway-cli/src/serve/build.rs). At that bound an interactive arrival still
//! sheds queued batch work, as the simulator (which has no bound) does.

use super::store_outage::{IN_FLIGHT, QUEUE, config, tokens_layer};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use spillway_core::engine::{Engine, NoSpend, Rejection, RequestMeta};
use spillway_core::limit::Layered;
use spillway_gateway::{Runtime, ServeLayers, Step};

fn meta(class: usize) -> RequestMeta<()> {
    RequestMeta {
        user: 1,
        team: 0,
        feature: 0,
        class,
        input_tokens: 1,
        output_estimate: 0,
        max_tokens: 0,
        payload: (),
    }
}

/// The outcome of an interactive arrival while a batch call is in flight and another batch
/// request fills the queue, with `max_requests` as the engine's bound; and whether the queued
/// batch request was told it left.
async fn interactive_over_full_batch_queue(max_requests: usize) -> (Result<(), Rejection>, bool) {
    let layers = ServeLayers::Local(Layered::new(tokens_layer()).unwrap());
    let rng = || ChaCha8Rng::seed_from_u64(1);
    let engine = Engine::new(config(max_requests), layers, NoSpend, rng(), rng()).unwrap();
    let rt = Runtime::start(engine, vec!["tokens".into()]);
    let mut a = rt.admit(meta(2)).expect("batch A admitted");
    assert!(matches!(a.next().await, Step::Send(_)), "A in flight");
    let mut b = rt.admit(meta(2)).expect("batch B queued");
    let c = rt.admit(meta(0)).map(drop).map_err(|r| r.why);
    let b_shed = c.is_ok() && matches!(b.next().await, Step::Left(_));
    rt.close();
    (c, b_shed)
}

#[tokio::test]
async fn an_interactive_arrival_sheds_queued_batch_work_under_serves_bound() {
    // The simulator's bound: the queue sheds batch B and C is admitted.
    assert_eq!(
        interactive_over_full_batch_queue(usize::MAX).await,
        (Ok(()), true)
    );
    let serve_bound = QUEUE + usize::try_from(IN_FLIGHT).unwrap();
    assert_eq!(
        interactive_over_full_batch_queue(serve_bound).await,
        (Ok(()), true),
        "serve's max_requests refuses interactive work while batch work is queued"
    );
}
