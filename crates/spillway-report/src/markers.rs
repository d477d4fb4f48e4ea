//! Timeline markers: the moments a scenario itself says something happens (a spike starts or
//! ends, the provider is down, a key is rotated, revoked or leaked), read from the run
//! directory's copy of `scenario.yaml` so the time charts show WHY a line moves.
//!
//! Lenient on purpose: the file was validated when it ran, and a report must still be built
//! from an older or hand-edited copy, so each block that is missing or does not parse simply
//! gives no markers (never an error). Each block is read on its own, so one bad block does
//! not hide the others.

use crate::clock::time_of_day_s;
use serde::Deserialize;
use serde::de::IgnoredAny;
use spillway_sim::scenario::units::parse_duration;

/// One labelled instant of simulated time.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Seconds from the start of the run.
    pub t_s: f64,
    /// Short text drawn at the top of the line, e.g. `spike start`.
    pub label: String,
}

#[derive(Deserialize)]
struct TrafficOnly {
    traffic: Option<Traffic>,
}
#[derive(Deserialize)]
struct Traffic {
    #[serde(default)]
    spikes: Vec<Window>,
}
/// A `start` + `duration` window (spikes and outages are written alike).
#[derive(Deserialize)]
struct Window {
    start: String,
    duration: String,
}

#[derive(Deserialize)]
struct ProviderOnly {
    provider: Option<Provider>,
}
#[derive(Deserialize)]
struct Provider {
    #[serde(default)]
    outages: Vec<Window>,
}

#[derive(Deserialize)]
struct EventsOnly {
    #[serde(default)]
    events: Vec<Event>,
}
#[derive(Deserialize)]
struct Event {
    at: String,
    rotate: Option<String>,
    revoke: Option<String>,
    leak: Option<Leak>,
    price: Option<IgnoredAny>,
}
#[derive(Deserialize)]
struct Leak {
    key: String,
    detected_after: String,
}

#[derive(Deserialize)]
struct ClockOnly {
    starts_at_utc: Option<String>,
    duration: Option<String>,
    drain: Option<String>,
}

/// UTC midnights within the run (duration + drain, drain 10m by default), when the scenario
/// says at what time of day it starts: daily budgets reset there.
fn midnights(c: &ClockOnly) -> Vec<Marker> {
    let Some(start) = c.starts_at_utc.as_deref().and_then(time_of_day_s) else {
        return Vec::new();
    };
    let end = c.duration.as_deref().and_then(seconds).unwrap_or(0.0)
        + c.drain
            .as_deref()
            .map_or(Some(600.0), seconds)
            .unwrap_or(0.0);
    let first = ((86_400 - start % 86_400) % 86_400) as f64;
    (0..)
        .map(|k| first + f64::from(k) * 86_400.0)
        .take_while(|t| *t <= end)
        .take(1000)
        .map(|t_s| Marker {
            t_s,
            label: "00:00 UTC: day resets".to_string(),
        })
        .collect()
}

fn seconds(text: &str) -> Option<f64> {
    parse_duration(text).ok().map(|d| d.as_secs_f64())
}

/// `what start` and `what end` for a window; nothing when either time does not parse.
fn window(w: &Window, what: &str) -> Vec<Marker> {
    let (Some(start), Some(length)) = (seconds(&w.start), seconds(&w.duration)) else {
        return Vec::new();
    };
    vec![
        Marker {
            t_s: start,
            label: format!("{what} start"),
        },
        Marker {
            t_s: start + length,
            label: format!("{what} end"),
        },
    ]
}

fn event(e: &Event) -> Vec<Marker> {
    let Some(at) = seconds(&e.at) else {
        return Vec::new();
    };
    let at_marker = |label: String| Marker { t_s: at, label };
    let mut out = Vec::new();
    if let Some(key) = &e.rotate {
        out.push(at_marker(format!("rotate {key}")));
    }
    if let Some(key) = &e.revoke {
        out.push(at_marker(format!("revoke {key}")));
    }
    if let Some(leak) = &e.leak {
        out.push(at_marker(format!("leak {}", leak.key)));
        if let Some(after) = seconds(&leak.detected_after) {
            out.push(Marker {
                t_s: at + after,
                label: format!("revoke {} (leak found)", leak.key),
            });
        }
    }
    if e.price.is_some() {
        out.push(at_marker("price change".to_string()));
    }
    out
}

/// The markers of scenario text, in time order (ties keep the order written).
pub fn markers_of(yaml: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    if let Ok(TrafficOnly { traffic: Some(t) }) = serde_saphyr::from_str(yaml) {
        out.extend(t.spikes.iter().flat_map(|w| window(w, "spike")));
    }
    if let Ok(ProviderOnly { provider: Some(p) }) = serde_saphyr::from_str(yaml) {
        out.extend(p.outages.iter().flat_map(|w| window(w, "outage")));
    }
    if let Ok(EventsOnly { events }) = serde_saphyr::from_str(yaml) {
        out.extend(events.iter().flat_map(event));
    }
    if let Ok(clock) = serde_saphyr::from_str::<ClockOnly>(yaml) {
        out.extend(midnights(&clock));
    }
    out.retain(|m| m.t_s.is_finite());
    out.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ms: &[Marker]) -> Vec<(f64, &str)> {
        ms.iter().map(|m| (m.t_s, m.label.as_str())).collect()
    }

    #[test]
    fn reads_spikes_outages_and_key_events() {
        let yaml = "name: x\nduration: 15m\nprovider:\n  rpm: 500\n  outages:\n    - { start: 4m, duration: 90s, status: 503 }\ntraffic:\n  groups: []\n  spikes:\n    - start: 5m\n      duration: 2m\n      multiplier: 10\n      groups: [chat]\nevents:\n  - at: 5m\n    leak: { key: secondary, rate: 5/s, detected_after: 15m }\n  - at: 20m\n    rotate: primary\n";
        assert_eq!(
            labels(&markers_of(yaml)),
            vec![
                (240.0, "outage start"),
                (300.0, "spike start"),
                (300.0, "leak secondary"),
                (330.0, "outage end"),
                (420.0, "spike end"),
                (1200.0, "revoke secondary (leak found)"),
                (1200.0, "rotate primary"),
            ]
        );
    }

    #[test]
    fn a_bad_block_hides_only_its_own_markers() {
        let yaml = "traffic:\n  spikes:\n    - { start: soon, duration: 2m }\nprovider:\n  outages: 7\nevents:\n  - at: 1m\n    revoke: old\n";
        assert_eq!(labels(&markers_of(yaml)), vec![(60.0, "revoke old")]);
        assert!(markers_of("name: x\n").is_empty());
        let clock = "starts_at_utc: \"23:35\"\nduration: 40m\n";
        assert_eq!(
            labels(&markers_of(clock)),
            vec![(1500.0, "00:00 UTC: day resets")]
        );
        assert!(markers_of(": : not yaml [").is_empty());
    }
}
