//! What `load` saw, in the simulator's own metric types, so the report crate's writers turn it
//! into the same `summary.csv` / `timeseries.csv` / … as `simulate` writes.
//!
//! Every time here is already in the simulated time base (real × scale). The mapping from an
//! HTTP outcome to the simulator's counters:
//!
//! | outcome | counters |
//! |---|---|
//! | every planned request | `offered` (and the user's offered), at its arrival second |
//! | gateway 429 | `rejected`, the layer's rejection count |
//! | anything that got past the gateway | `admitted`, `upstream_calls` (one: `load` sees the request, not the gateway's retries) |
//! | 200 with a completion | `completed`, latency (arrival → answer), tokens, cost at the scenario's price |
//! | provider 429 | `upstream_429`, `wasted_calls`, `failed` |
//! | other status, refused, timeout, garbage | `failed`, plus the reason; 503/529 also `wasted_calls` |
//! | not sent (client cap) | `failed` only (never admitted) |
//! | in flight at Ctrl-C | `admitted`, `unfinished` |
//!
//! The time series has one row per simulated second: counts at the second they happened (offered,
//! admitted and rejected at the arrival, completions and 429s at the answer), `in_flight` the
//! requests sent and not yet answered at the end of the second. Queue gauges stay 0: `load`
//! cannot see inside a gateway. Little's law is left empty (admission is only known when the
//! answer comes, so the gauge cannot be integrated in time order).

use crate::outcome::Outcome;
use crate::plan::Planned;
use spillway_core::Time;
use spillway_sim::metrics::{PolicyMetrics, TimeseriesRow};
use spillway_sim::scenario::Price;
use std::collections::BTreeMap;

const SECOND_NS: u64 = 1_000_000_000;
/// Most distinct gateway layers counted by name (more are counted as `other`).
const MAX_LAYERS: usize = 64;

/// The counters being filled.
pub struct Observer {
    metrics: PolicyMetrics,
    price: Price,
    rows: Vec<TimeseriesRow>,
    /// Per second: requests sent, and requests answered (for the in-flight gauge).
    sent: Vec<u64>,
    answered: Vec<u64>,
    reasons: BTreeMap<String, u64>,
    last: Time,
    /// Last second a row may have (later times count in it).
    max_s: usize,
}

/// Everything observed, ready to write.
pub struct Observed {
    /// The simulator's per-policy metrics.
    pub metrics: PolicyMetrics,
    /// One row per simulated second, from 0.
    pub rows: Vec<TimeseriesRow>,
    /// Why requests failed, with counts (sorted by reason).
    pub reasons: BTreeMap<String, u64>,
}

impl Observer {
    /// Counters for the run labelled `policy`, costs at `price`, times clamped to `span_s`
    /// seconds (the rows are bounded by it, and grow only as time is observed).
    pub fn new(policy: &str, price: Price, span_s: u64) -> Observer {
        Observer {
            metrics: PolicyMetrics::new(policy, std::iter::empty()),
            price,
            rows: Vec::new(),
            sent: Vec::new(),
            answered: Vec::new(),
            reasons: BTreeMap::new(),
            last: Time::ZERO,
            max_s: usize::try_from(span_s.max(1) - 1).unwrap_or(usize::MAX),
        }
    }

    /// The row index of `at`, with the rows grown to hold it.
    fn second(&mut self, at: Time) -> usize {
        let s = usize::try_from(at.as_nanos() / SECOND_NS)
            .unwrap_or(usize::MAX)
            .min(self.max_s);
        while self.rows.len() <= s {
            self.rows.push(TimeseriesRow {
                t_s: self.rows.len() as u64,
                ..TimeseriesRow::default()
            });
            self.sent.push(0);
            self.answered.push(0);
        }
        s
    }

    fn row(&mut self, at: Time) -> &mut TimeseriesRow {
        let s = self.second(at);
        &mut self.rows[s]
    }

    /// `p` is due: count it offered.
    pub fn offered(&mut self, p: &Planned) {
        let class = p.class.index();
        self.metrics.users.offered(p.arrival.user, class);
        self.metrics.classes[class].offered += 1;
        self.row(p.arrival.at).offered += 1;
        self.last = self.last.max(p.arrival.at);
    }

    /// `p` was sent at `sent`.
    pub fn sent(&mut self, sent: Time) {
        let s = self.second(sent);
        self.sent[s] += 1;
    }

    /// `p` was not sent: `reason`.
    pub fn not_sent(&mut self, p: &Planned, reason: &str) {
        self.metrics.classes[p.class.index()].failed += 1;
        *self.reasons.entry(reason.to_string()).or_default() += 1;
    }

    /// `p` was still in flight when the run was interrupted.
    pub fn unfinished(&mut self, p: &Planned) {
        let stats = &mut self.metrics.classes[p.class.index()];
        stats.admitted += 1;
        stats.upstream_calls += 1;
        stats.unfinished += 1;
        self.row(p.arrival.at).admitted += 1;
    }

    /// `p`, sent earlier, was answered at `done` with `outcome`.
    pub fn answered(&mut self, p: &Planned, done: Time, outcome: &Outcome) {
        let s = self.second(done);
        self.answered[s] += 1;
        self.last = self.last.max(done);
        if let Outcome::Rejected(layer) = outcome {
            self.metrics.classes[p.class.index()].rejected += 1;
            self.row(p.arrival.at).rejected += 1;
            self.count_layer(layer);
            return;
        }
        self.row(p.arrival.at).admitted += 1;
        let stats = &mut self.metrics.classes[p.class.index()];
        stats.admitted += 1;
        stats.upstream_calls += 1;
        match outcome {
            Outcome::Completed => self.completed(p, done),
            Outcome::Upstream429 => {
                stats.upstream_429 += 1;
                stats.upstream.wasted_calls += 1;
                stats.failed += 1;
                self.row(done).upstream_429 += 1;
            }
            Outcome::Failed(reason) => {
                if reason == "HTTP 503" || reason == "HTTP 529" {
                    stats.upstream.wasted_calls += 1;
                }
                stats.failed += 1;
                *self.reasons.entry(reason.clone()).or_default() += 1;
            }
            Outcome::Rejected(_) => {}
        }
    }

    fn completed(&mut self, p: &Planned, done: Time) {
        let a = &p.arrival;
        let cost = self.price.cost_nano_usd(a.input_tokens, a.output_tokens);
        let stats = &mut self.metrics.classes[p.class.index()];
        stats.completed += 1;
        stats.latency.record(done.saturating_since(a.at));
        stats.input_tokens += a.input_tokens;
        stats.output_tokens += a.output_tokens;
        stats.cost_nano_usd = stats.cost_nano_usd.saturating_add(cost);
        let row = self.row(done);
        row.completed += 1;
        row.spend_nano_usd = row.spend_nano_usd.saturating_add(cost);
        let tokens = a.input_tokens.saturating_add(a.output_tokens);
        self.metrics.users.completed(a.user, tokens);
    }

    fn count_layer(&mut self, layer: &str) {
        let layers = &mut self.metrics.rejections_by_layer;
        let name = if layers.len() < MAX_LAYERS || layers.iter().any(|(n, _)| n == layer) {
            layer
        } else {
            "other"
        };
        match layers.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => *count += 1,
            None => layers.push((name.to_string(), 1)),
        }
    }

    /// The end of observation: the last arrival or answer seen.
    pub fn last(&self) -> Time {
        self.last
    }

    /// Close: fill the in-flight gauge and grow the rows to the end of observation.
    pub fn finish(mut self, end: Time) -> Observed {
        let last = end.max(self.last);
        self.second(last);
        let mut in_flight = 0u64;
        for (s, row) in self.rows.iter_mut().enumerate() {
            in_flight = in_flight
                .saturating_add(self.sent[s])
                .saturating_sub(self.answered[s]);
            row.in_flight = in_flight;
        }
        self.metrics.end = last;
        self.metrics.rejections_by_layer.sort();
        Observed {
            metrics: self.metrics,
            rows: self.rows,
            reasons: self.reasons,
        }
    }
}
