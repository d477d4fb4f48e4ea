//! The answers of a budget: [`Preflight`] before a call, [`Ticket`] while it runs,
//! [`Settlement`] after it. Each carries what the simulator's metrics need (the deciding cap,
//! requested vs used model, estimate vs actual) so no metric needs to re-derive a decision.

use super::estimate::CostEstimate;
use super::ledger::{CapId, CapUsage, LedgerReservation};
use super::model::ModelId;
use crate::limit::Subject;
use crate::time::Time;

/// What to do with a request.
#[must_use]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Send it as asked.
    Allow,
    /// Send it to this cheaper model.
    Degrade(ModelId),
    /// Hold it until this instant (a period reset), then ask again.
    QueueUntil(Time),
    /// Refuse it.
    Reject,
}

/// The budget's answer before a call, with its reasons.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Preflight {
    /// The decision.
    pub verdict: Verdict,
    /// The cap that decided a `Degrade`, `QueueUntil` or `Reject` (`None` for `Allow`, and for
    /// a `Reject` of a model not in the catalogue).
    pub decided_by: Option<CapId>,
    /// The fullest cap of the subject before this request (what the ladder looked at).
    pub tightest: Option<CapUsage>,
    /// The priced estimate on the model to use (`Allow`/`Degrade` only).
    pub estimate: Option<CostEstimate>,
}

/// An admitted request in flight: settle it with [`Budget::complete`](super::Budget::complete)
/// or [`Budget::cancel`](super::Budget::cancel).
#[must_use = "a ticket must be completed or cancelled, or its estimate stays reserved"]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    /// The model the caller asked for.
    pub requested: ModelId,
    /// The estimate on the model actually used (`estimate.model`).
    pub estimate: CostEstimate,
    /// The ledger's hold.
    pub reservation: LedgerReservation,
    /// The driver's label for this ticket (0 unless a driver sets it): e.g. the id under
    /// which a shared store holds the same estimate, so completing the ticket settles it there.
    pub tag: u64,
}

impl Ticket {
    /// Who is paying.
    pub fn subject(&self) -> Subject {
        self.reservation.subject
    }
    /// Whether the request runs on a cheaper model than asked.
    pub fn degraded(&self) -> bool {
        self.estimate.model != self.requested
    }
}

/// A completed request's books: aggregate `actual_nano_usd` by `subject.user`, `.feature`,
/// `.api_key` for spend reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Settlement {
    /// Who paid.
    pub subject: Subject,
    /// The model asked for.
    pub requested: ModelId,
    /// The model used.
    pub model: ModelId,
    /// The estimate reserved, nano-USD.
    pub estimate_nano_usd: u64,
    /// The actual cost booked, nano-USD.
    pub actual_nano_usd: u64,
}
