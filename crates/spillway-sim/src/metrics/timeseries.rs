//! Per-second time series, emitted as each second closes so nothing accumulates.

use spillway_core::Time;

const SECOND_NS: u64 = 1_000_000_000;

/// One simulated second of one policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeseriesRow {
    /// Second since the start (the row covers `[t_s, t_s + 1)`).
    pub t_s: u64,
    /// Requests that arrived.
    pub offered: u64,
    /// Requests admitted by every layer.
    pub admitted: u64,
    /// Requests refused by a layer.
    pub rejected: u64,
    /// Requests waiting in the gateway at the end of the second: in its queue, or held by the
    /// budget until a cap resets (so it may exceed the queue's capacity).
    pub queued: u64,
    /// Upstream calls in flight at the end of the second.
    pub in_flight: u64,
    /// Upstream 429 answers.
    pub upstream_429: u64,
    /// Money spent on requests completed in this second, and on accepted calls billed in it
    /// without completing.
    pub spend_nano_usd: u64,
    /// Requests shed from a full queue.
    pub shed: u64,
    /// Requests completed.
    pub completed: u64,
    /// Upstream retries sent.
    pub retries: u64,
    /// [`TimeseriesRow::queued`] per class (indexed by `Class::index`).
    pub queued_by_class: [u64; 4],
    /// The primary's circuit breaker at the end of the second: 0 closed, 1 half-open, 2 open.
    pub breaker: u8,
    /// Escalations (consecutive-429 alerts) raised in this second.
    pub escalations: u64,
    /// Calls sent to the fallback provider in this second.
    pub fallback_calls: u64,
}

impl TimeseriesRow {
    /// Add `later`, the row right after this one: counts add up, gauges take `later`'s values
    /// (a gauge of a span is its value at the span's end).
    pub fn absorb(&mut self, later: &TimeseriesRow) {
        let counts = [
            (&mut self.offered, later.offered),
            (&mut self.admitted, later.admitted),
            (&mut self.rejected, later.rejected),
            (&mut self.upstream_429, later.upstream_429),
            (&mut self.spend_nano_usd, later.spend_nano_usd),
            (&mut self.shed, later.shed),
            (&mut self.completed, later.completed),
            (&mut self.retries, later.retries),
            (&mut self.escalations, later.escalations),
            (&mut self.fallback_calls, later.fallback_calls),
        ];
        for (sum, add) in counts {
            *sum = sum.saturating_add(add);
        }
        self.queued = later.queued;
        self.queued_by_class = later.queued_by_class;
        self.in_flight = later.in_flight;
        self.breaker = later.breaker;
    }
}

/// Accumulates the current second and hands closed seconds to a sink.
#[derive(Debug, Default)]
pub struct Timeseries {
    current: TimeseriesRow,
}

impl Timeseries {
    /// The row being filled.
    pub fn current(&mut self) -> &mut TimeseriesRow {
        &mut self.current
    }

    /// Whether [`Timeseries::advance_to`] at `now` would close a second.
    pub fn closes_by(&self, now: Time) -> bool {
        now.as_nanos() / SECOND_NS > self.current.t_s
    }

    /// Close every second that ends at or before `now`, passing each to `sink`; `queued` and
    /// `in_flight` are the gauges' values over the gap (nothing happened in between).
    pub fn advance_to(
        &mut self,
        now: Time,
        queued_by_class: [u64; 4],
        in_flight: u64,
        breaker: u8,
        sink: &mut dyn FnMut(&TimeseriesRow),
    ) {
        let second = now.as_nanos() / SECOND_NS;
        while self.current.t_s < second {
            self.current.queued = queued_by_class.iter().sum();
            self.current.queued_by_class = queued_by_class;
            self.current.breaker = breaker;
            self.current.in_flight = in_flight;
            sink(&self.current);
            self.current = TimeseriesRow {
                t_s: self.current.t_s + 1,
                ..TimeseriesRow::default()
            };
        }
    }
}
