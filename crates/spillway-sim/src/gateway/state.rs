//! The gateway of one policy run: its parts and the bookkeeping every departure shares.
//!
//! A request's life: arrival → limiter layers (admitted or rejected) → queue → upstream call(s)
//! → departure. It departs exactly once, by [`Gateway::depart`], whatever the way out
//! (completed, failed, shed, abandoned), so Little's law, the per-user service and the
//! reservation's settlement are each accounted in one place.

use super::upstream::UpstreamClient;
use super::{Request, RequestQueue, RequestSlab, Slot, Ticket};
use crate::distributed::{Admitted, Instances};
use crate::engine::EventQueue;
use crate::metrics::{PolicyMetrics, Timeseries};
use crate::scenario::{ClassSettings, PolicySpec, Scenario};
use spillway_core::limit::Demand;
use spillway_core::{Duration, Time};
use std::collections::VecDeque;

/// Something scheduled for later.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    /// An upstream call finished successfully.
    Done(Slot),
    /// A wait (Retry-After, headroom, an open breaker) is over: dispatch again.
    Wake,
    /// A request's backoff is over: it may be sent again.
    RetryDue(Slot),
    /// The user of a queued request runs out of patience.
    Abandon(Slot, Ticket),
    /// A request held by the budget (`QueueUntil`) may ask again.
    BudgetDue(Slot),
}

/// Per-group facts the hot path needs without looking up the scenario.
pub(crate) struct GroupInfo {
    pub class: usize,
    pub feature: u64,
    pub output_estimate: u64,
}

/// How a request left the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Departure {
    Completed,
    Failed,
    Shed,
    Abandoned,
}

/// The state of one policy's gateway during a run.
pub(crate) struct Gateway<'a> {
    pub policy: &'a PolicySpec,
    pub scenario: &'a Scenario,
    pub groups: Vec<GroupInfo>,
    pub classes: [ClassSettings; 4],
    pub events: EventQueue<Event>,
    /// The limiter layers, on one instance or several.
    pub limits: Instances,
    pub queue: RequestQueue,
    /// Requests answered 429 waiting to be sent again; they go before the queue (they were
    /// already chosen once).
    pub retries: VecDeque<Slot>,
    pub requests: RequestSlab,
    /// Providers and the client-side models towards them.
    pub client: UpstreamClient,
    /// A request taken from the queue that must wait (headroom, no provider available) before
    /// it is sent; it goes first when the wait is over.
    pub staged: Option<Slot>,
    /// The earliest pending [`Event::Wake`], so waiting does not flood the event heap.
    pub next_wake: Option<Time>,
    pub in_flight: u64,
    pub metrics: PolicyMetrics,
    pub series: Timeseries,
    /// The policy's budget and API keys, if it has a `budget:`.
    pub budget: Option<super::budget::BudgetGate>,
}

impl Gateway<'_> {
    /// The queue wait of `req` ended at `now` (first upstream send, or leaving the queue
    /// unserved): record it once, against the class SLO.
    pub(crate) fn end_wait(&mut self, now: Time, slot: Slot) {
        let Some(req) = self.requests.get_mut(slot) else {
            return;
        };
        if req.wait_recorded {
            return;
        }
        req.wait_recorded = true;
        let waited = now.saturating_since(req.arrival.at);
        req.waited = waited;
        let stats = &mut self.metrics.classes[req.class];
        stats.wait.record(waited);
        if waited > self.classes[req.class].slo {
            stats.waits_over_slo += 1;
        }
    }

    /// Remove a request for good, counting how it left and settling its reservation with the
    /// tokens it really used.
    pub(crate) fn depart(&mut self, now: Time, slot: Slot, how: Departure, tokens_used: u64) {
        self.end_wait(now, slot);
        let Some(req) = self.requests.remove(slot) else {
            return;
        };
        let stats = &mut self.metrics.classes[req.class];
        stats.littles_law.depart(now, req.arrival.at);
        let row = self.series.current();
        match how {
            Departure::Completed => stats.completed += 1,
            Departure::Failed => stats.failed += 1,
            Departure::Shed => {
                stats.shed += 1;
                row.shed += 1;
            }
            Departure::Abandoned => stats.abandoned += 1,
        }
        if req.attempts == 0 {
            stats.never_served += 1;
        }
        let actual = Demand {
            requests: 1,
            tokens: tokens_used,
        };
        self.limits
            .settle(now, req.reservation, req.placement, actual);
        self.cancel_spend(now, req.spend_ticket);
    }

    /// A queued request's user gave up.
    pub(crate) fn abandon(&mut self, now: Time, slot: Slot, ticket: Ticket) {
        if self.queue.cancel(ticket).is_some() {
            self.depart(now, slot, Departure::Abandoned, 0);
        }
    }

    /// Patience of `class`'s users, if they have a deadline.
    pub(crate) fn deadline(&self, class: usize) -> Option<Duration> {
        self.classes[class].deadline
    }

    /// Count what is left at the end of the run (still queued or in flight).
    pub(crate) fn finish(&mut self, end: Time) {
        let mut left: Vec<Slot> = self.queue.drain(end);
        left.extend(self.limits.drain_entries());
        left.extend(self.retries.drain(..));
        left.extend(self.staged.take());
        while let Some((_, event)) = self.events.pop() {
            if let Event::Done(slot) | Event::RetryDue(slot) | Event::BudgetDue(slot) = event {
                left.push(slot);
            }
        }
        for slot in left {
            self.end_wait(end, slot);
            if let Some(req) = self.requests.remove(slot) {
                let stats = &mut self.metrics.classes[req.class];
                stats.unfinished += 1;
                if req.attempts == 0 {
                    stats.never_served += 1;
                }
            }
        }
        for stats in &mut self.metrics.classes {
            stats.littles_law.close(end);
        }
        self.metrics.end = end;
        self.metrics.distributed = self.limits.stats();
    }
}

/// A fresh request record.
pub(crate) fn new_request(
    arrival: crate::traffic::Arrival,
    class: usize,
    admitted: Admitted,
) -> Request {
    Request {
        arrival,
        class,
        reservation: admitted.reservation,
        placement: admitted.placement,
        attempts: 0,
        queued_at: arrival.at,
        waited: Duration::ZERO,
        wait_recorded: false,
        last_backoff: Duration::ZERO,
        on_fallback: false,
        spend_ticket: None,
    }
}
