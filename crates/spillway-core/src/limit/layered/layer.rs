//! One layer of a [`Layered`](super::Layered): its limiter(s), and the recursive check-then-commit
//! walk over all layers.

use super::{Demand, Denial, LayerSet, LayeredDecision, LayeredError, Scope, Subject, Unit};
use crate::limit::keyed::Slot;
use crate::limit::{AnyLimiter, Decision, Keyed, LimitError, Limiter, SettleStep};
use crate::time::Time;

/// A layer's limiter(s): one for the global scope, one per key otherwise.
#[derive(Clone, Debug)]
pub(super) enum LayerState {
    Single(AnyLimiter),
    PerKey(Keyed<u64, AnyLimiter>),
}

#[derive(Clone, Debug)]
pub(super) struct Layer {
    pub(super) name: String,
    pub(super) scope: Scope,
    pub(super) unit: Unit,
    pub(super) state: LayerState,
}

fn never_fits(layer: &str, error: LimitError) -> LayeredError {
    match error {
        LimitError::CostExceedsCapacity { cost, capacity } => LayeredError::NeverFits {
            layer: layer.to_owned(),
            cost,
            capacity,
        },
    }
}

impl Layer {
    pub(super) fn key(&self, subject: &Subject) -> u64 {
        subject.id(self.scope)
    }
    pub(super) fn cost(&self, demand: Demand) -> u64 {
        self.unit.cost(demand)
    }
    pub(super) fn check(
        &self,
        now: Time,
        subject: &Subject,
        cost: u64,
    ) -> Result<Decision, LayeredError> {
        if cost == 0 {
            return Ok(Decision::Allowed);
        }
        match &self.state {
            LayerState::Single(l) => l.check(now, cost),
            LayerState::PerKey(k) => k.check(now, &self.key(subject), cost),
        }
        .map_err(|e| never_fits(&self.name, e))
    }
    /// Apply a settle step to `subject`'s limiter. A zero commit (an exact estimate) is
    /// skipped: it would only move a token bucket's TAT up to `now`, which layers never did.
    pub(super) fn settle(&mut self, now: Time, subject: &Subject, step: SettleStep) {
        let key = self.key(subject);
        match (step, &mut self.state) {
            (SettleStep::Commit { cost: 0 }, _) => {}
            (SettleStep::Commit { cost }, LayerState::Single(l)) => l.commit(now, cost),
            (SettleStep::Commit { cost }, LayerState::PerKey(k)) => k.commit(now, &key, cost),
            (SettleStep::Refund { charge, cost }, LayerState::Single(l)) => {
                l.refund(now, charge, cost);
            }
            (SettleStep::Refund { charge, cost }, LayerState::PerKey(k)) => {
                k.refund(now, charge, &key, cost);
            }
        }
    }
}

/// Per-layer answers folded into one: which layers block, and until when.
#[derive(Default)]
pub(super) struct Verdict {
    blocking: LayerSet,
    retry_at: Time,
}

impl Verdict {
    pub(super) fn add(&mut self, index: usize, decision: Decision) {
        if let Decision::Denied { retry_at } = decision {
            self.blocking = self.blocking.with(index);
            self.retry_at = self.retry_at.max(retry_at);
        }
    }
    pub(super) fn finish(self) -> LayeredDecision {
        if self.blocking.is_empty() {
            LayeredDecision::Allowed
        } else {
            LayeredDecision::Denied(Denial {
                blocking: self.blocking,
                retry_at: self.retry_at,
            })
        }
    }
}

/// One request on its way through the layers.
pub(super) struct Request<'a> {
    pub(super) now: Time,
    pub(super) subject: &'a Subject,
    pub(super) demand: Demand,
}

/// Check `layers` (the first being layer `index`) and, on the way back from the last one,
/// charge each if every layer admitted. Recursing keeps each layer's limiter reference alive
/// across the remaining checks, so a resident key is looked up once, with no buffers.
pub(super) fn acquire_layers(
    layers: &mut [Layer],
    index: usize,
    request: &Request<'_>,
    verdict: &mut Verdict,
) -> Result<(), LayeredError> {
    let Some((layer, rest)) = layers.split_first_mut() else {
        return Ok(());
    };
    let (cost, key, now) = (
        layer.cost(request.demand),
        layer.key(request.subject),
        request.now,
    );
    if cost == 0 {
        return acquire_layers(rest, index + 1, request, verdict);
    }
    let name = layer.name.as_str();
    match &mut layer.state {
        LayerState::Single(l) => {
            verdict.add(index, l.check(now, cost).map_err(|e| never_fits(name, e))?);
            acquire_layers(rest, index + 1, request, verdict)?;
            if verdict.blocking.is_empty() {
                l.commit(now, cost);
            }
        }
        LayerState::PerKey(k) => match k.slot(&key) {
            Slot::Resident(l) => {
                verdict.add(index, l.check(now, cost).map_err(|e| never_fits(name, e))?);
                acquire_layers(rest, index + 1, request, verdict)?;
                if verdict.blocking.is_empty() {
                    l.commit(now, cost);
                }
            }
            Slot::Absent(prototype) => {
                let decision = prototype.check(now, cost);
                verdict.add(index, decision.map_err(|e| never_fits(name, e))?);
                acquire_layers(rest, index + 1, request, verdict)?;
                if verdict.blocking.is_empty() {
                    k.insert_committed(now, &key, cost);
                }
            }
        },
    }
    Ok(())
}
