//! The shared budget's settlements and releases, applied in Redis in order by the gateway's
//! settle queue ([`spillway_gateway::settler`]).
//!
//! Why retry, and for how long: a settle that is dropped books nothing although the provider
//! billed the call (the budget overspends); a release that is dropped keeps its estimate
//! reserved until the lease lapses (the budget refuses more than it must). So a failed call
//! is retried with backoff for as long as retrying stays idempotent: Redis remembers a
//! finished request for the store's `dedupe_ttl`, and a settle retried after that record went
//! could book twice. Past that horizon it is given up and counted
//! (`spillway_budget_settles_given_up_total`).

use spillway_core::Time;
use spillway_core::budget::SharedAccount;
use spillway_gateway::settler::{Apply, Settler, Tried};
use spillway_redis::RedisBudget;
use std::sync::Arc;
use std::time::Duration;

pub use spillway_gateway::settler::Closer;

/// Kept between the retry horizon and the end of Redis' memory of a finished request.
const MARGIN: Duration = Duration::from_secs(1);
/// The shortest horizon (one retry).
const MIN_HORIZON: Duration = Duration::from_millis(100);

/// A settlement or release to apply in Redis, at the engine's `now` (wall clock).
#[derive(Debug)]
pub struct Finish {
    /// When the call ended (its period).
    pub now: Time,
    /// The request's number (its Redis request id).
    pub tag: u64,
    /// Actual cost to book (0 for a release).
    pub actual: u64,
    /// The accounts it charged.
    pub accounts: Vec<SharedAccount>,
}

/// Applies [`Finish`]es to the budget's Redis.
struct Budget(Arc<RedisBudget>);

impl Apply for Budget {
    type Item = Finish;

    async fn apply(&self, f: &Finish) -> Tried {
        let rid = self.0.request_id(f.tag);
        let done = if f.actual > 0 {
            self.0.settle(f.now, &rid, f.actual, &f.accounts).await
        } else {
            self.0.release(f.now, &rid, &f.accounts).await
        };
        // Deduped by its request id while Redis remembers it: any failure may be sent again.
        if done.is_ok() {
            Tried::Applied
        } else {
            Tried::Again
        }
    }
}

/// Spawn the budget's settle queue (call inside tokio); `remembered` is how long Redis
/// remembers a finished request (the store's `dedupe_ttl`).
pub fn start(redis: Arc<RedisBudget>, remembered: Duration) -> Settler<Finish> {
    let horizon = remembered.saturating_sub(MARGIN).max(MIN_HORIZON);
    Settler::start(Budget(redis), horizon)
}
