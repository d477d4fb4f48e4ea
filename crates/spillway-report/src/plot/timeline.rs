//! Charts over simulated time from `timeseries.csv`: traffic outcomes and queue depth (spend:
//! [`super::spend`]).
//!
//! Per-second counts are averaged over buckets of a few seconds so that a long run stays
//! readable (at most [`MAX_POINTS`] points per line); the axis label says the bucket size.

use super::latency::color_of;
use super::{LineChart, RightAxis, Section, Series, share_axes, unique_slugs};
use crate::input::{RunData, TimePoint};

/// Most points drawn per line.
pub const MAX_POINTS: usize = 300;

/// The time axis: minutes for runs longer than ten minutes, else seconds.
pub(super) struct TimeAxis {
    pub(super) per_unit: f64,
    pub(super) label: &'static str,
}

impl TimeAxis {
    pub(super) fn for_run(data: &RunData) -> Self {
        let last = data
            .timeseries
            .iter()
            .filter_map(|(_, points)| points.last().map(|p| p.t_s))
            .max()
            .unwrap_or(0);
        if last > 600 {
            TimeAxis {
                per_unit: 60.0,
                label: "simulated time (min)",
            }
        } else {
            TimeAxis {
                per_unit: 1.0,
                label: "simulated time (s)",
            }
        }
    }
}

/// Seconds per bucket so that `len` seconds give at most [`MAX_POINTS`] points.
pub fn bucket_seconds(len: usize) -> usize {
    len.div_ceil(MAX_POINTS).max(1)
}

/// One bucket size for every policy (from the longest series), so panels that are
/// compared side by side are smoothed alike.
fn shared_bucket(data: &RunData) -> usize {
    let longest = data
        .timeseries
        .iter()
        .map(|(_, p)| p.len())
        .max()
        .unwrap_or(0);
    bucket_seconds(longest)
}

/// Mean of `value` over consecutive buckets of `bucket` points, at each bucket's start.
fn bucketed(
    points: &[TimePoint],
    bucket: usize,
    axis: &TimeAxis,
    value: impl Fn(&TimePoint) -> f64,
) -> Vec<(f64, f64)> {
    points
        .chunks(bucket)
        .map(|chunk| {
            let sum: f64 = chunk.iter().map(&value).sum();
            let seconds: u64 = chunk.iter().map(|p| p.seconds).sum();
            let t = chunk.first().map_or(0.0, |p| p.t_s as f64);
            (t / axis.per_unit, sum / seconds.max(1) as f64)
        })
        .collect()
}

/// The scenario's event markers (from the run's `scenario.yaml`) in this axis's units.
pub(super) fn axis_markers(data: &RunData, axis: &TimeAxis) -> Vec<(f64, String)> {
    data.scenario_yaml
        .as_deref()
        .map(crate::markers::markers_of)
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.t_s / axis.per_unit, m.label))
        .collect()
}

fn per_second_label(what: &str, bucket: usize) -> String {
    if bucket == 1 {
        format!("{what} per second")
    } else {
        format!("{what} per second (mean over {bucket} s)")
    }
}

/// Index of the upstream-429 line among the traffic chart's lines (the last one).
const UPSTREAM_429: usize = 3;

/// Whether line `index` peaks below a tenth of the other lines' peak in every panel
/// together (but is not all zero): then it gets its own axis, or it would lie flat on the X
/// axis, invisible.
fn rare(charts: &[LineChart], index: usize) -> bool {
    let peak = |keep: &dyn Fn(usize) -> bool| {
        charts
            .iter()
            .flat_map(|c| c.series.iter().enumerate())
            .filter(|(i, _)| keep(*i))
            .flat_map(|(_, s)| s.points.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
    };
    let this = peak(&|i| i == index);
    this > 0.0 && this < peak(&|i| i != index) / 10.0
}

/// Offered, admitted, rejected and upstream 429s over time: one chart per policy. 429s that
/// are rare next to the traffic are drawn on their own axis at the right.
pub fn traffic_section(data: &RunData) -> Section {
    let axis = TimeAxis::for_run(data);
    type Metric = (&'static str, usize, fn(&TimePoint) -> u64);
    const METRICS: [Metric; 4] = [
        ("offered", 7, |p| p.offered),
        ("admitted", 2, |p| p.admitted),
        ("rejected", 3, |p| p.rejected),
        ("upstream 429s", 1, |p| p.upstream_429),
    ];
    let slugs = unique_slugs(data.timeseries.iter().map(|(p, _)| p.as_str()));
    let mut charts: Vec<LineChart> = data
        .timeseries
        .iter()
        .zip(&slugs)
        .map(|((policy, points), slug)| {
            let bucket = shared_bucket(data);
            let mut chart = LineChart::new(
                &format!("traffic-{slug}"),
                &format!("Traffic outcomes: {policy}"),
                axis.label,
                &per_second_label(
                    "requests",
                    bucket * points.first().map_or(1, |p| p.seconds as usize),
                ),
            );
            chart.x_from_zero = true;
            chart.markers = axis_markers(data, &axis);
            chart.series = METRICS
                .iter()
                .map(|(name, color, get)| Series {
                    name: (*name).to_string(),
                    color: *color,
                    points: bucketed(points, bucket, &axis, |p| get(p) as f64),
                    dashed: false,
                    halo: *name == "offered",
                })
                .collect();
            chart
        })
        .collect();
    if rare(&charts, UPSTREAM_429) {
        for chart in &mut charts {
            let series = chart.series.split_off(UPSTREAM_429);
            chart.right = Some(RightAxis {
                label: "upstream 429s per second".to_string(),
                series,
                range: None,
            });
        }
    }
    share_axes(&mut charts);
    Section {
        id: "traffic",
        title: "Offered, admitted, rejected and 429s over time",
        about: "Requests arriving at the gateway (offered), passing every limiter layer \
            (admitted), refused by a layer (rejected), and upstream calls answered 429 by the \
            provider. Offered is the same for every policy (same traffic); a good policy turns \
            spikes into rejections or queueing it chose, not into 429s. When 429s are few next to \
            the traffic they are read on their own axis at the right (the legend says so). Grey \
            vertical lines mark the scenario's own events (spikes, outages, key rotation, \
            revocation, leaks, budget days)."
            .to_string(),
        charts,
        note: None,
    }
}

/// Queue depth over time: by class per policy when `queued_<class>` columns exist, else the
/// total per policy.
pub fn queue_section(data: &RunData) -> Section {
    let axis = TimeAxis::for_run(data);
    let policies = data.policies();
    let by_class = !data.timeseries.is_empty()
        && data
            .timeseries
            .iter()
            .all(|(_, pts)| pts.iter().all(|p| p.queued_by_class.is_some()));
    let about = "Requests waiting in the gateway queue at the end of each second. A queue that \
        keeps growing means admitted work arrives faster than the provider serves it; a class \
        whose queue stays high while others drain is being starved."
        .to_string();
    let mut charts = Vec::new();
    let note = if by_class {
        let slugs = unique_slugs(data.timeseries.iter().map(|(p, _)| p.as_str()));
        for ((policy, points), slug) in data.timeseries.iter().zip(&slugs) {
            let bucket = shared_bucket(data);
            let mut chart = LineChart::new(
                &format!("queue-{slug}"),
                &format!("Queue depth by class: {policy}"),
                axis.label,
                "queued requests",
            );
            chart.x_from_zero = true;
            chart.markers = axis_markers(data, &axis);
            chart.series = crate::csv_out::QUEUED_BY_CLASS_COLUMNS
                .iter()
                .enumerate()
                .map(|(i, column)| Series {
                    name: column.trim_start_matches("queued_").to_string(),
                    color: i,
                    points: bucketed(points, bucket, &axis, |p| {
                        p.queued_by_class.map_or(0.0, |q| q[i] as f64)
                    }),
                    dashed: false,
                    halo: false,
                })
                .collect();
            charts.push(chart);
        }
        None
    } else {
        let mut chart = LineChart::new(
            "queue",
            "Queue depth (all classes)",
            axis.label,
            "queued requests",
        );
        chart.x_from_zero = true;
        chart.markers = axis_markers(data, &axis);
        chart.series = data
            .timeseries
            .iter()
            .map(|(policy, points)| Series {
                name: policy.clone(),
                color: color_of(&policies, policy),
                points: bucketed(points, shared_bucket(data), &axis, |p| p.queued as f64),
                dashed: false,
                halo: false,
            })
            .collect();
        charts.push(chart);
        Some(
            "timeseries.csv has no queued_<class> columns: the queue is shown for all classes \
             together."
                .to_string(),
        )
    };
    share_axes(&mut charts);
    Section {
        id: "queue",
        title: "Queue depth",
        about,
        charts,
        note,
    }
}
