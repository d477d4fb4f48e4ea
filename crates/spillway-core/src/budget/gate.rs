//! [`Budget`]: the catalogue, estimator, ladder and ledger composed into the seed's flow —
//! estimate, preflight (allow / degrade / queue / reject), reserve, call, record the actual.
//!
//! Preflight looks at the subject's fullest cap, asks the ladder which model that usage level
//! allows, and then checks that the estimate on that model fits *every* cap; if it does not, it
//! tries the ladder's cheaper models in turn before queueing or rejecting. So a request is only
//! refused when even the cheapest allowed model would not fit.

use super::cap::OnExhausted;
use super::estimate::{CostEstimate, Estimator};
use super::ladder::{DegradationLadder, LadderChoice};
use super::ledger::{Blocked, CapId, Ledger};
use super::model::{ModelCatalogue, ModelId};
use super::verdict::{Preflight, Settlement, Ticket, Verdict};
use crate::limit::Subject;
use crate::time::Time;

/// The budget of a gateway. Fields are public so the owner can change prices
/// (`catalogue.set_prices`), add key caps (`ledger.add_cap`) or read statistics directly.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Models and prices.
    pub catalogue: ModelCatalogue,
    /// Output-token guesses and their errors.
    pub estimator: Estimator,
    /// Where to go as caps fill.
    pub ladder: DegradationLadder,
    /// Caps and spend.
    pub ledger: Ledger,
}

/// The outcome of [`Budget::admit`]: the preflight, and a ticket if it was admitted.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Admission {
    /// The decision and its reasons.
    pub preflight: Preflight,
    /// The reservation to complete, for `Allow` and `Degrade`.
    pub ticket: Option<Ticket>,
}

impl Budget {
    /// Compose the parts (the ladder must have been validated against this catalogue).
    pub fn new(
        catalogue: ModelCatalogue,
        estimator: Estimator,
        ladder: DegradationLadder,
        ledger: Ledger,
    ) -> Self {
        Budget {
            catalogue,
            estimator,
            ladder,
            ledger,
        }
    }

    /// Decide what to do with a request of `subject` (whose `feature` picks the output
    /// estimate) for `requested` with `input_tokens`. Changes nothing.
    pub fn preflight(
        &self,
        now: Time,
        subject: &Subject,
        requested: ModelId,
        input_tokens: u64,
    ) -> Preflight {
        let tightest = self.ledger.usage(now, subject);
        let mut answer = Preflight {
            verdict: Verdict::Reject,
            decided_by: None,
            tightest,
            estimate: None,
        };
        if self.catalogue.get(requested).is_none() {
            return answer;
        }
        let per_mille = tightest.map_or(0, |u| u.per_mille);
        let start = match self.ladder.choose(per_mille, requested, &self.catalogue) {
            LadderChoice::Requested => requested,
            LadderChoice::Degrade(m) => m,
            LadderChoice::Exhausted => {
                let cap = tightest.map(|u| u.cap);
                answer.decided_by = cap;
                let cheapest = self.cheapest_estimate(subject, requested, input_tokens);
                answer.verdict = cap.map_or(Verdict::Reject, |c| self.exhausted(now, c, cheapest));
                return answer;
            }
        };
        // The first block explains a degrade; the last (on the cheapest model tried) explains a
        // refusal: even that model did not fit.
        let (mut first_block, mut last_block): (Option<Blocked>, Option<Blocked>) = (None, None);
        let candidates =
            std::iter::once(start).chain(self.ladder.cheaper_than(start, &self.catalogue));
        for model in candidates {
            let estimate = self.estimate(subject, model, input_tokens);
            match self.ledger.check(now, subject, estimate.cost_nano_usd) {
                Ok(()) => {
                    answer.estimate = Some(estimate);
                    if model == requested {
                        answer.verdict = Verdict::Allow;
                    } else {
                        answer.verdict = Verdict::Degrade(model);
                        answer.decided_by = first_block.map(|b| b.cap).or(tightest.map(|u| u.cap));
                    }
                    return answer;
                }
                Err(blocked) => {
                    first_block.get_or_insert(blocked);
                    last_block = Some(blocked);
                }
            }
        }
        if let Some(b) = last_block {
            answer.decided_by = Some(b.cap);
            answer.verdict = blocked_verdict(b);
        }
        answer
    }

    /// Preflight, and reserve the estimate if the verdict is `Allow` or `Degrade`.
    pub fn admit(
        &mut self,
        now: Time,
        subject: &Subject,
        requested: ModelId,
        input_tokens: u64,
    ) -> Admission {
        let preflight = self.preflight(now, subject, requested, input_tokens);
        let ticket = preflight.estimate.and_then(|estimate| {
            let reservation = self
                .ledger
                .reserve(now, subject, estimate.cost_nano_usd)
                .ok()?;
            Some(Ticket {
                requested,
                estimate,
                reservation,
                tag: 0,
            })
        });
        Admission { preflight, ticket }
    }

    /// The request finished with these actual token counts: book the actual cost (at the
    /// catalogue's current price), release the estimate, and teach the estimator.
    pub fn complete(
        &mut self,
        now: Time,
        ticket: Ticket,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Settlement {
        let settlement = self.bill(now, ticket, input_tokens, output_tokens);
        self.estimator.record(
            settlement.subject.feature,
            &ticket.estimate,
            output_tokens,
            settlement.actual_nano_usd,
        );
        settlement
    }

    /// An accepted call that did not complete is billed at these token counts (a floor the
    /// engine set, partly the estimate itself): book them and release the estimate, but teach
    /// the estimator nothing (a sample equal to the estimate would only confirm it).
    pub fn bill(
        &mut self,
        now: Time,
        ticket: Ticket,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Settlement {
        let model = ticket.estimate.model;
        let actual = self
            .catalogue
            .cost_nano_usd(model, input_tokens, output_tokens)
            .unwrap_or(0);
        let subject = ticket.subject();
        self.ledger.settle(now, ticket.reservation, actual);
        Settlement {
            subject,
            requested: ticket.requested,
            model,
            estimate_nano_usd: ticket.estimate.cost_nano_usd,
            actual_nano_usd: actual,
        }
    }

    /// The request was never sent or cost nothing (failed before the provider billed): release
    /// its reservation without teaching the estimator.
    pub fn cancel(&mut self, now: Time, ticket: Ticket) {
        self.ledger.settle(now, ticket.reservation, 0);
    }

    fn estimate(&self, subject: &Subject, model: ModelId, input_tokens: u64) -> CostEstimate {
        self.estimator
            .estimate(subject.feature, model, input_tokens, &self.catalogue)
    }

    /// The estimate on the cheapest model the ladder could route `requested` to: the least a
    /// request can cost (what a cap must still have room for to serve it at all).
    pub(crate) fn cheapest_estimate(
        &self,
        subject: &Subject,
        requested: ModelId,
        input_tokens: u64,
    ) -> u64 {
        let cheaper = self.ladder.cheaper_than(requested, &self.catalogue);
        let cheapest = cheaper.last().copied().unwrap_or(requested);
        self.estimate(subject, cheapest, input_tokens).cost_nano_usd
    }

    /// The verdict when the ladder says `cap` is spent: queue until it resets if it queues and
    /// an empty period could hold `cheapest_nano_usd`; else reject.
    fn exhausted(&self, now: Time, cap: CapId, cheapest_nano_usd: u64) -> Verdict {
        let Some(spec) = self.ledger.cap(cap) else {
            return Verdict::Reject;
        };
        match (spec.on_exhausted, self.ledger.reset_at(now, cap)) {
            (OnExhausted::Queue, Some(reset)) if cheapest_nano_usd <= spec.limit_nano_usd => {
                Verdict::QueueUntil(reset)
            }
            _ => Verdict::Reject,
        }
    }
}

fn blocked_verdict(b: Blocked) -> Verdict {
    if b.never_fits || b.on_exhausted == OnExhausted::Reject {
        Verdict::Reject
    } else {
        Verdict::QueueUntil(b.reset_at)
    }
}
