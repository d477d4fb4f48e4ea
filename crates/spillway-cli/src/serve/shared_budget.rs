//! The policy's budget shared by every `serve` replica on one Redis (`--redis`): Redis counts
//! (spillway-redis [`RedisBudget`]), core's [`SpendGate`] decides.
//!
//! Per request, before the engine sees it ([`reserve`]): the gate names the accounts the
//! request charges and the estimate it expects to reserve; Redis holds that estimate on all
//! of them or none, atomically across replicas, and answers their totals; the gate previews
//! its verdict on those totals and, if it wants a different amount (the ladder degraded, a
//! price changed), Redis is asked again (at most [`MAX_ROUNDS`] calls; one in the usual
//! case). The answer is handed to the gate ([`SharedBudget::prepay`]) in the same lock as the
//! engine's admission, whose `decide` runs the simulator's preflight on the fleet's totals
//! ([`SpendGate::decide_shared`]). Completion settles in Redis from a task, in order, as the
//! shared layers do.
//!
//! **A Redis error fails closed**: the request is refused with a 503 naming the budget's
//! store. Failing open would let every replica spend a full cap on its own while Redis is
//! away (N replicas, N caps): money already spent cannot be taken back, a refused request can
//! be retried.

use super::budget::ServeGate;
use super::proxy::Gateway;
use super::settler::{self, Closer, Finish};
use spillway_core::Time;
use spillway_core::budget::SharedAccount;
use spillway_core::engine::{RequestMeta, SharedTotals, SpendGate, SpendRefusal, SpendStep};
use spillway_gateway::settler::Settler;
use spillway_redis::RedisBudget;
use std::sync::Arc;

/// Most reserve calls per request (the gate's estimate moves at most along the ladder).
pub const MAX_ROUNDS: usize = 3;

/// What Redis answered for one request, handed to the gate before the engine admits it.
#[derive(Debug, Clone)]
pub struct Prepaid {
    /// The request's number on this replica (its Redis request id).
    pub tag: u64,
    /// The upstream key it was planned (and held) on: the engine decides on the same one,
    /// even if the ring rotated during the round trip.
    pub api_key: u64,
    /// The accounts it charges.
    pub accounts: Vec<SharedAccount>,
    /// The totals and what Redis holds for it; `None` when Redis did not answer.
    pub totals: Option<SharedTotals>,
    /// Whether Redis may hold an estimate for it (to release if it is not admitted).
    pub holds: bool,
}

/// The Redis side of a [`ServeGate`].
#[derive(Debug)]
pub struct SharedBudget {
    redis: Arc<RedisBudget>,
    prepaid: Option<Prepaid>,
    finishes: Settler<Finish>,
}

impl SharedBudget {
    /// Count in `redis`, which remembers a finished request for `remembered` (the store's
    /// `dedupe_ttl`); spawns the task that settles (call inside tokio).
    pub fn new(redis: RedisBudget, remembered: std::time::Duration) -> Self {
        let redis = Arc::new(redis);
        SharedBudget {
            finishes: settler::start(redis.clone(), remembered),
            redis,
            prepaid: None,
        }
    }

    /// Settlements and releases given up after retrying (see [`super::settler`]).
    pub fn gave_up(&self) -> u64 {
        self.finishes.gave_up()
    }

    /// What applies the queued settlements at shutdown.
    pub fn closer(&self) -> Closer {
        self.finishes.closer()
    }

    /// Hand this admission what Redis answered (`None`: [`ServeGate::plan`] found no usable
    /// key). Set by every admission, so a refusal before `decide` leaves nothing stale.
    pub fn prepay(&mut self, prepaid: Option<Prepaid>) {
        self.prepaid = prepaid;
    }

    /// The key the pending admission was planned on.
    pub fn planned_key(&self) -> Option<u64> {
        self.prepaid.as_ref().map(|p| p.api_key)
    }

    /// The engine's `decide` on a shared budget (times: `local` the gate's, `wall` Redis').
    pub fn decide<M>(
        &mut self,
        gate: &mut SpendGate,
        (local, wall): (Time, Time),
        request: &RequestMeta<M>,
    ) -> SpendStep {
        // No plan: no upstream key was usable when the request was planned.
        let Some(prepaid) = self.prepaid.take() else {
            return SpendStep::Refuse(SpendRefusal::NoKey);
        };
        let Some(totals) = &prepaid.totals else {
            if prepaid.holds {
                self.finish(wall, prepaid.tag, prepaid.accounts, 0);
            }
            return SpendStep::Refuse(SpendRefusal::Unavailable);
        };
        match gate.decide_shared(local, request, Some(prepaid.api_key), totals) {
            SpendStep::Admit(Some(mut ticket)) => {
                ticket.tag = prepaid.tag;
                SpendStep::Admit(Some(ticket))
            }
            other => {
                if prepaid.holds {
                    self.finish(wall, prepaid.tag, prepaid.accounts, 0);
                }
                other
            }
        }
    }

    /// Finish request `tag` in Redis (queued): book `actual` on `accounts`, or with 0 release
    /// its hold (the settle task tells them apart).
    pub fn finish(&self, wall: Time, tag: u64, accounts: Vec<SharedAccount>, actual: u64) {
        self.finishes.send(Finish {
            now: wall,
            tag,
            actual,
            accounts,
        });
    }
}

/// What [`reserve`] needs from the gate to start.
pub struct Plan {
    redis: Arc<RedisBudget>,
    tag: u64,
    api_key: u64,
    accounts: Vec<SharedAccount>,
    want: u64,
}

impl ServeGate {
    /// Number the request, name its accounts, and preview the estimate on the totals last
    /// seen. `None` when the budget is not shared or no key is usable (the engine refuses).
    pub fn plan(&mut self, now: Time, request: &RequestMeta<()>) -> Option<Plan> {
        // Not shared: no key picked, no tag used.
        let redis = self.parts().1?.redis.clone();
        let local = self.local(now);
        let api_key = self.select_key(now, request)?;
        let tag = self.next_tag();
        let (gate, _) = self.parts();
        let accounts = gate.shared_accounts(request, api_key);
        let cached = SharedTotals::default();
        let want = gate.preview_shared(local, request, api_key, &cached);
        Some(Plan {
            redis,
            tag,
            api_key,
            accounts,
            want: want.unwrap_or(0),
        })
    }

    /// The estimate the gate wants held for `request` on `totals` (0: it would not admit).
    fn preview(&mut self, now: Time, request: &RequestMeta<()>, key: u64, t: &SharedTotals) -> u64 {
        let local = self.local(now);
        let (gate, _) = self.parts();
        gate.preview_shared(local, request, key, t).unwrap_or(0)
    }
}

/// Reserve `meta`'s estimate in Redis before the engine sees it: what to hand the gate, or
/// `None` when the budget is not shared.
pub async fn reserve(runtime: &Gateway, meta: &RequestMeta<()>) -> Option<Prepaid> {
    let plan = runtime.with_engine(|e, now| e.spend_mut().as_mut()?.plan(now, meta))?;
    let rid = plan.redis.request_id(plan.tag);
    let mut want = plan.want;
    let (mut totals, mut holds) = (None, false);
    for _ in 0..MAX_ROUNDS {
        // Counted as holding once a hold is asked for, not once answered: the script may have
        // run although its reply timed out. Releasing an id that holds nothing is harmless
        // (and marks it finished, so a late reserve holds nothing).
        holds |= want > 0;
        let Ok(answer) = plan
            .redis
            .reserve(runtime.now(), &rid, want, &plan.accounts)
            .await
        else {
            // Fail closed (see the module docs); a hold an earlier round made is released.
            totals = None;
            break;
        };
        want = runtime.with_engine(|e, now| {
            let gate = e.spend_mut().as_mut();
            gate.map_or(0, |g| g.preview(now, meta, plan.api_key, &answer))
        });
        // Asked again when the gate wants more (the estimate grew) or less but still some
        // (the ladder degraded to a cheaper model): the hold follows the model sent. A gate
        // that wants nothing refuses, and its refusal releases the hold.
        let settled = want == answer.held_nano_usd || want == 0;
        totals = Some(answer);
        if settled {
            break;
        }
    }
    Some(Prepaid {
        tag: plan.tag,
        api_key: plan.api_key,
        accounts: plan.accounts,
        totals,
        holds,
    })
}
