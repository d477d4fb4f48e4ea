//! Counters built from what the engine reports (admissions, dispatches, [`EngineEvent`]s),
//! and the Prometheus text exposition of them plus the engine's gauges.
//!
//! Hand-written rather than a metrics crate: a dozen families of integer counters, rendered in
//! a fixed order (so a scrape is diffable), need no registry.

use spillway_core::engine::{Departure, Dispatch, EngineEvent, Rejection};
use spillway_core::upstream::Target;
use std::fmt::Write;

/// Class names, by index.
pub const CLASSES: [&str; 4] = ["interactive", "standard", "batch", "background"];

const DEPARTURES: [&str; 5] = ["completed", "failed", "shed", "abandoned", "unfinished"];

/// The gateway's counters.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    layer_names: Vec<String>,
    admitted: [u64; 4],
    /// By layer index; a denial naming several layers counts in each.
    rejected_by_layer: Vec<u64>,
    rejected_budget: u64,
    rejected_full: u64,
    rejected_never_fits: u64,
    /// Refused because the layers' store (Redis) did not answer.
    rejected_store: u64,
    departed: [[u64; 5]; 4],
    upstream_calls: [u64; 2],
    retries: u64,
    upstream_429: u64,
    upstream_failed: u64,
    escalations: u64,
    /// Requests the budget sent to a cheaper model.
    degraded: u64,
    /// Requests the budget refused (at the door, or when a hold ended).
    budget_refused: u64,
    /// Actual cost booked, nano-USD (saturating).
    spend_nano_usd: u64,
}

/// The engine's gauges at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Queued requests by class.
    pub queued: [u64; 4],
    /// Calls on the wire.
    pub in_flight: u64,
    /// Requests inside the engine.
    pub inside: u64,
    /// Primary breaker: 0 closed, 1 half-open, 2 open.
    pub breaker: u8,
}

fn departure_index(how: Departure) -> usize {
    match how {
        Departure::Completed => 0,
        Departure::Failed => 1,
        Departure::Shed => 2,
        Departure::Abandoned => 3,
        Departure::Unfinished => 4,
    }
}

impl Metrics {
    /// Counters for layers named `layer_names` (in layer order).
    pub fn new(layer_names: Vec<String>) -> Self {
        Metrics {
            rejected_by_layer: vec![0; layer_names.len()],
            layer_names,
            ..Metrics::default()
        }
    }

    /// The layers' names.
    pub fn layer_names(&self) -> &[String] {
        &self.layer_names
    }

    pub(crate) fn admitted(&mut self, class: usize) {
        self.admitted[class.min(3)] += 1;
    }

    pub(crate) fn rejected(&mut self, why: &Rejection) {
        match why {
            _ if crate::is_store_outage(why) => self.rejected_store += 1,
            Rejection::Layers { blocking, .. } => {
                for layer in blocking.iter() {
                    if let Some(n) = self.rejected_by_layer.get_mut(layer) {
                        *n += 1;
                    }
                }
            }
            Rejection::Budget(_) => self.rejected_budget += 1,
            Rejection::Full => self.rejected_full += 1,
            Rejection::NeverFits => self.rejected_never_fits += 1,
        }
    }

    pub(crate) fn dispatched<M>(&mut self, d: &Dispatch<M>) {
        self.upstream_calls[usize::from(d.target == Target::Fallback)] += 1;
        if d.attempt > 1 {
            self.retries += 1;
        }
    }

    pub(crate) fn record<M>(&mut self, event: &EngineEvent<M>) {
        match event {
            EngineEvent::Wasted { status: 429, .. } => self.upstream_429 += 1,
            EngineEvent::Wasted { .. } => self.upstream_failed += 1,
            EngineEvent::Escalated { .. } => self.escalations += 1,
            EngineEvent::Degraded { .. } => self.degraded += 1,
            EngineEvent::BudgetRefused { .. } => self.budget_refused += 1,
            EngineEvent::Completed {
                settlement: Some(s),
                ..
            }
            | EngineEvent::Billed { settlement: s, .. } => {
                self.spend_nano_usd = self.spend_nano_usd.saturating_add(s.actual_nano_usd);
            }
            EngineEvent::Departed { class, how, .. } => {
                self.departed[(*class).min(3)][departure_index(*how)] += 1;
            }
            _ => {}
        }
    }

    /// Admitted requests, all classes.
    pub fn admitted_total(&self) -> u64 {
        self.admitted.iter().sum()
    }

    /// Requests refused at the door, all reasons (a denial counted once).
    pub fn departed_total(&self, how: Departure) -> u64 {
        self.departed.iter().map(|c| c[departure_index(how)]).sum()
    }

    /// Upstream calls (primary + fallback).
    pub fn upstream_calls_total(&self) -> u64 {
        self.upstream_calls.iter().sum()
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, u64)>| {
            family(&mut out, name, kind, help, rows);
        };
        let by_class = |values: [u64; 4]| -> Vec<(String, u64)> {
            CLASSES
                .iter()
                .zip(values)
                .map(|(c, v)| (format!("{{class=\"{c}\"}}"), v))
                .collect()
        };
        family(
            "spillway_queue_depth",
            "gauge",
            "Requests waiting in the priority queue.",
            by_class(gauges.queued),
        );
        family(
            "spillway_in_flight",
            "gauge",
            "Calls on the wire upstream.",
            vec![(String::new(), gauges.in_flight)],
        );
        family(
            "spillway_requests_inside",
            "gauge",
            "Requests inside the engine (queued, waiting or in flight).",
            vec![(String::new(), gauges.inside)],
        );
        family(
            "spillway_breaker_state",
            "gauge",
            "Primary circuit breaker: 0 closed, 1 half-open, 2 open.",
            vec![(String::new(), u64::from(gauges.breaker))],
        );
        family(
            "spillway_admitted_total",
            "counter",
            "Requests admitted at the door.",
            by_class(self.admitted),
        );
        let mut rejected: Vec<(String, u64)> = self
            .layer_names
            .iter()
            .zip(&self.rejected_by_layer)
            .map(|(l, n)| (format!("{{layer=\"{}\"}}", escape(l)), *n))
            .collect();
        use spillway_core::limit::refusal_labels as label;
        for (name, count) in [
            (label::BUDGET, self.rejected_budget),
            (label::FULL, self.rejected_full),
            (label::NEVER_FITS, self.rejected_never_fits),
            (label::STORE_UNAVAILABLE, self.rejected_store),
        ] {
            rejected.push((format!("{{layer=\"{name}\"}}"), count));
        }
        family(
            "spillway_rejected_total",
            "counter",
            "Requests refused at the door, by blocking layer (a denial naming several layers counts in each; store_unavailable: the shared layers' Redis did not answer).",
            rejected,
        );
        let departed = CLASSES
            .iter()
            .zip(&self.departed)
            .flat_map(|(c, row)| {
                DEPARTURES
                    .iter()
                    .zip(row)
                    .map(move |(how, n)| (format!("{{class=\"{c}\",how=\"{how}\"}}"), *n))
            })
            .collect();
        family(
            "spillway_departed_total",
            "counter",
            "Admitted requests that left, by how (shed: dropped by the queue).",
            departed,
        );
        let calls = vec![
            ("{target=\"primary\"}".into(), self.upstream_calls[0]),
            ("{target=\"fallback\"}".into(), self.upstream_calls[1]),
        ];
        family(
            "spillway_upstream_calls_total",
            "counter",
            "Calls sent upstream.",
            calls,
        );
        family(
            "spillway_upstream_retries_total",
            "counter",
            "Calls that were a retry.",
            vec![(String::new(), self.retries)],
        );
        family(
            "spillway_upstream_429_total",
            "counter",
            "Upstream answers with status 429.",
            vec![(String::new(), self.upstream_429)],
        );
        family(
            "spillway_upstream_failed_total",
            "counter",
            "Upstream answers that failed otherwise (5xx, unreachable, failed completion).",
            vec![(String::new(), self.upstream_failed)],
        );
        family(
            "spillway_escalations_total",
            "counter",
            "Consecutive 429s that escalated to the fallback.",
            vec![(String::new(), self.escalations)],
        );
        family(
            "spillway_degraded_total",
            "counter",
            "Requests the budget sent to a cheaper model (the ladder, or shedding's downgrade).",
            vec![(String::new(), self.degraded)],
        );
        family(
            "spillway_budget_refused_total",
            "counter",
            "Requests the budget refused: at the door (cap spent, no usable key) or when a hold ended.",
            vec![(String::new(), self.budget_refused)],
        );
        family(
            "spillway_spend_nano_usd_total",
            "counter",
            "Cost booked by the budget, in nano-USD: completed calls at their usage, and calls the upstream accepted that did not complete at no less than their estimate.",
            vec![(String::new(), self.spend_nano_usd)],
        );
        out
    }
}

/// Appends one metric family to `out` in the Prometheus text format: its HELP and TYPE lines,
/// then a `name{labels} value` line per row (`labels` already rendered, `""` for none).
/// Public so a driver's own families (`spillway serve`'s) read exactly like these.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str, rows: Vec<(String, u64)>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in rows {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::Time;
    use spillway_core::limit::LayerSet;

    #[test]
    fn refusals_count_in_every_blocking_layer_and_render_in_order() {
        let mut m = Metrics::new(vec!["global".into(), "per \"user\"".into()]);
        let both = LayerSet::single(0).with(1);
        m.rejected(&Rejection::Layers {
            blocking: both,
            retry_at: Time::ZERO,
        });
        m.rejected(&Rejection::Layers {
            blocking: LayerSet::single(1),
            retry_at: Time::ZERO,
        });
        m.admitted(0);
        let text = m.render(&Gauges {
            queued: [3, 0, 0, 1],
            ..Gauges::default()
        });
        assert!(text.contains("spillway_rejected_total{layer=\"global\"} 1\n"));
        assert!(text.contains("spillway_rejected_total{layer=\"per \\\"user\\\"\"} 2\n"));
        assert!(text.contains("spillway_queue_depth{class=\"background\"} 1\n"));
        assert!(text.contains("spillway_admitted_total{class=\"interactive\"} 1\n"));
        assert_eq!(m.admitted_total(), 1);
    }

    #[test]
    fn budget_events_count_degrades_refusals_and_spend() {
        use spillway_core::budget::{ModelId, Settlement};
        use spillway_core::engine::SpendRefusal;
        let mut m = Metrics::new(Vec::new());
        m.record(&EngineEvent::<()>::Degraded { class: 0 });
        m.record(&EngineEvent::<()>::BudgetRefused {
            class: 1,
            why: SpendRefusal::Cap {
                cap: None,
                reset_at: None,
            },
        });
        let settlement = Settlement {
            subject: spillway_core::limit::Subject::default(),
            requested: ModelId(0),
            model: ModelId(1),
            estimate_nano_usd: 900,
            actual_nano_usd: 700,
        };
        for _ in 0..2 {
            m.record(&EngineEvent::Completed {
                class: 0,
                payload: (),
                settlement: Some(settlement),
                on_fallback: false,
                from_cache: false,
            });
        }
        let text = m.render(&Gauges::default());
        assert!(text.contains("spillway_degraded_total 1\n"));
        assert!(text.contains("spillway_budget_refused_total 1\n"));
        assert!(text.contains("spillway_spend_nano_usd_total 1400\n"));
    }
}
