//! What the engine decided for a request, handed to the service behind
//! [`GatewayLayer`](crate::GatewayLayer) in the request's extensions.
//!
//! Why the inner service must read it: the engine books, paces and judges a call by where it
//! routed it. A request the budget degraded is booked at the cheaper model's price; one sent
//! to the fallback has its answer counted against the fallback's breaker and Retry-After; one
//! the engine answered from the cache (every breaker open) was counted as served with no
//! provider call. An inner service that calls the requested model on the primary regardless
//! spends what the budget did not book, and feeds one provider's health with another's
//! answers.

use crate::runtime::Runtime;
use rand_core::Rng;
use spillway_core::budget::ModelId;
use spillway_core::engine::{Dispatch, Limiter, Spend};
use spillway_core::upstream::Target;

/// The engine's decision for a request, in its extensions when the inner service is called:
/// `req.extensions().get::<Dispatched>()` (or axum's `Extension<Dispatched>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    /// Where the answer must come from.
    pub upstream: Upstream,
    /// The model to call instead of the one the request names: the budget degraded the
    /// request to this cheaper one and booked it at its price. It is an id in the policy's
    /// model catalogue (`ModelCatalogue::get` gives its name). `None`: call the model the
    /// request names.
    pub model: Option<ModelId>,
    /// The upstream API key to call the primary with: the budget's pick at this send, which is
    /// not always the key the request was admitted with (one that expired or was revoked while
    /// the request waited is replaced then, and the budget bills the new one). Numbered as
    /// `api_key`-scoped layers number it (a [`KeyId`](spillway_core::keys::KeyId)'s, 0 when
    /// the ring holds no keys); `None` without a budget, for the cache, and for the fallback,
    /// which calls with its own key (as `spillway serve` does: the ring's key may be the one
    /// the primary just refused).
    pub api_key: Option<u64>,
}

/// Where a request's answer must come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// Call this provider: the engine took its breaker's permit and counts its answer.
    Provider(Target),
    /// Call no provider: none could take the request (every breaker open) and the policy
    /// answers from a cache (`cache_hit_pct`). The engine has already counted the request as
    /// completed from the cache, with no usage and no cost. The inner service answers from
    /// its cache, or, having none, with an error of its own (a 503).
    Cache,
}

impl Dispatched {
    /// A request answered from the cache.
    pub(crate) const CACHE: Dispatched = Dispatched {
        upstream: Upstream::Cache,
        model: None,
        api_key: None,
    };

    /// The send `dispatch` of `runtime`: its provider, the model its budget ticket names when
    /// the budget degraded it, and the key to call the primary with; with the key that ticket
    /// bills (the bucket the response's rate-limit headers describe, whichever provider).
    pub(crate) fn sent<M, L, S, R>(
        runtime: &Runtime<M, L, S, R>,
        dispatch: &Dispatch<M>,
    ) -> (Self, Option<u64>)
    where
        M: Copy + Send + 'static,
        L: Limiter<Placement: Send> + Send + 'static,
        S: Spend<M> + Send + 'static,
        R: Rng + Send + 'static,
    {
        let (model, api_key) = runtime.with_state(|s, _| {
            let Some(ticket) = s.engine.spend_ticket(dispatch.id) else {
                return (None, None);
            };
            let model = ticket.degraded().then_some(ticket.estimate.model);
            (model, Some(ticket.subject().api_key))
        });
        let call_with = api_key.filter(|_| dispatch.target == Target::Primary);
        let dispatched = Dispatched {
            upstream: Upstream::Provider(dispatch.target),
            model,
            api_key: call_with,
        };
        (dispatched, api_key)
    }
}
