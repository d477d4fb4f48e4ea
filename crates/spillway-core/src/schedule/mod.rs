//! [`PriorityScheduler`]: the gateway's waiting room — priority classes, aging, weighted
//! sharing, tenant fair share, bounds, shedding, downgrades and deadlines, with time passed in.
//!
//! Interactive users need answers in 1–2 s, batch jobs can wait minutes, background work hours.
//! Strict priority serves that order but starves the lower classes; aging or weighting fixes
//! that. Queues are bounded, and under pressure the least valuable work goes first.
//!
//! # Classes
//! Classes are indices, 0 the most urgent (default: interactive, standard, batch, background),
//! each with a name (used by [`ShedStep`]s and errors), a bound, a weight and an optional
//! deadline. Within a class, requests are served FIFO, or — with
//! [`SchedulerConfig::tenant_fair_share`] — each tenant has a FIFO sub-queue and tenants are
//! served by deficit round robin by cost with equal weights, so one heavy user cannot
//! monopolise a class (two backlogged tenants' service differs by less than one maximum cost
//! at the end of every round).
//!
//! # Disciplines ([`Discipline`])
//! - `Strict`: the most urgent non-empty class.
//! - `Aging { step }`: effective level = `class − ⌊wait/step⌋`, clamped at 0; the class whose
//!   oldest request has the best level is served, ties to the earlier arrival (then the more
//!   urgent class). One step for all classes means waiting time orders like arrival time, so
//!   looking at each class's oldest request is exact: no rescans. With `L` classes, no request is
//!   popped after a class-0 request that arrived more than `(L − 1)·step` after it. With tenant
//!   fair share the class is chosen by its oldest request, but the class then serves whichever
//!   tenant DRR picks, so the bound holds for the class, not for each request.
//! - `Weighted`: deficit round robin across classes by cost; long-run service is proportional
//!   to the weights (`5000/3000/1000/100` ≈ the seed's 5 : 3 : 1 : 0.1).
//!
//! # Bounds and shedding
//! `len_of(c) ≤ bound(c)` and `len() ≤ capacity` always hold. Bounds must not decrease from
//! urgent to less urgent classes: less urgent work waits longer, so it needs at least as much
//! room, and a long urgent queue defeats its purpose (its tail would miss its latency target).
//! On [`PriorityScheduler::push`]:
//! 1. **Class full** (`len_of(c) == bound(c)`): the class sheds within itself, per
//!    [`ShedPick`]: `Newest` refuses the arrival (tail drop), `Oldest` drops the class's oldest
//!    request and queues the arrival (head drop). Other classes are not touched: dropping them
//!    would not make room under this class's bound.
//! 2. **Capacity full** (`len() == capacity`): the `Drop` steps of
//!    [`SchedulerConfig::shed_order`] are walked (least urgent class first); the first class
//!    that has requests *and is strictly less urgent than the arrival* loses one (per
//!    [`ShedPick`]) and the arrival is queued. If there is none, the arrival is refused.
//!
//! At most one request is shed per push, and it is handed back in [`PushOutcome::Queued`].
//! `Drop` steps must name the least urgent classes, least urgent first, without gaps (default
//! `Drop(background), Drop(batch)`): that is what guarantees that shedding never drops a
//! request while a less urgent one is queued. Class 0 can never be dropped for capacity (no
//! arrival is more urgent), so interactive traffic is never shed while anything lower is queued;
//! the only way an interactive request is dropped is its own class overflowing under
//! `ShedPick::Oldest` (a newer interactive request takes its place).
//!
//! A `Downgrade(class)` step frees nothing: while `len()` is at or above
//! [`SchedulerConfig::pressure_permille`] of capacity (measured before the pop), that class's
//! requests are popped with [`Popped::downgrade`] set, telling the gateway to use a cheaper
//! model.
//!
//! # Deadlines and cancellation
//! A request still queued at `arrival + deadline` is abandoned. Embedders call
//! [`PriorityScheduler::drain_expired`] at [`PriorityScheduler::next_expiry`] (and before
//! `pop`: `pop` does not look at deadlines). A simulator that schedules its own abandonment
//! events calls [`PriorityScheduler::cancel`] with the [`Ticket`] from the push.
//! Every pushed request leaves exactly once: popped, shed, expired or cancelled.
//!
//! # Example
//! ```
//! use spillway_core::schedule::{Item, PriorityScheduler, PushOutcome, SchedulerConfig};
//! use spillway_core::{Duration, Time};
//!
//! let mut queue = PriorityScheduler::new(&SchedulerConfig::default()).expect("valid");
//! let now = Time::from_secs(10);
//! let batch = Item { class: 2, tenant: 7, cost: 1_500, payload: "summarise" };
//! let ticket = match queue.push(now, batch) {
//!     PushOutcome::Queued { ticket, shed } => {
//!         assert!(shed.is_none());
//!         ticket
//!     }
//!     PushOutcome::Refused { reason, .. } => panic!("refused: {reason:?}"),
//! };
//! let chat = Item { class: 0, tenant: 8, cost: 300, payload: "hello" };
//! assert!(queue.push(now, chat).ticket().is_some());
//!
//! // Interactive first; after 5 minutes of waiting the batch request has aged to level 0.
//! let first = queue.pop(now).expect("queued");
//! assert_eq!((first.payload, first.class, first.downgrade), ("hello", 0, false));
//! assert!(queue.contains(ticket));
//! let later = now.saturating_add(Duration::from_secs(300));
//! assert_eq!(queue.pop(later).map(|p| p.waited), Some(Duration::from_secs(300)));
//! assert!(queue.is_empty());
//! ```
//!
//! # Cost
//! Push and pop are O(classes) plus O(1) amortised. A FIFO class stores its requests inline in
//! arrival order (so a pop reads them where the deque's front is, as a plain `VecDeque`
//! would); with fair share each tenant's sub-queue stores its requests (a DRR visit reads
//! consecutive ones) and the class keeps thin tokens in arrival order for "oldest". Shed and
//! expiry are O(1); cancel is O(1), or O(log n) after a compaction moved the request. Removals
//! leave tombstones that are trimmed at the ends and compacted once they outnumber live
//! requests.
//!
//! # Payloads are handles
//! A payload must be `Copy`: an id into the caller's own store (the engine queues its
//! `RequestId`), not the request itself. A tombstone keeps a stale copy of its payload instead
//! of an `Option`'s tag, which keeps an entry at 32 bytes with an 8-byte id, fewer and
//! narrower cache lines for the cold write a push makes at the back of a tenant's sub-queue
//! (see `tombstone.rs`).

mod arrivals;
mod class_queue;
mod config;
mod error;
mod expiry;
mod fair;
mod fifo;
mod plan;
mod prefetch;
mod ring;
mod scheduler;
mod select;
mod tenant_index;
mod tombstone;
mod types;
mod weighted;

pub use config::{
    ClassSpec, Discipline, MAX_CAPACITY, MAX_CLASSES, SchedulerConfig, ShedPick, ShedStep,
};
pub use error::ConfigError;
pub use scheduler::PriorityScheduler;
pub use types::{Item, Popped, PushOutcome, Refusal, RemovalReason, Removed, Ticket};

#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod tenants_tests;
#[cfg(test)]
mod unit_tests;
