//! The one kind of figure a report draws: named line series on numeric axes, with a title,
//! axis labels that carry units, and a legend. Builders in the sibling modules turn run data
//! into [`LineChart`]s; [`crate::plot::render`] draws them.

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Index into the palette (the same policy keeps its color across charts).
    pub color: usize,
    /// Points in drawing order; non-finite points are dropped when drawn.
    pub points: Vec<(f64, f64)>,
    /// Dashed lines mark references (budgets, equality), not measurements.
    pub dashed: bool,
    /// Drawn first, wide and pale, so it still shows where other lines cover it (offered
    /// under admitted when nothing is rejected).
    pub halo: bool,
}

/// A second Y axis on the right, with its own lines and range.
#[derive(Debug, Clone, PartialEq)]
pub struct RightAxis {
    /// Axis description, with its unit.
    pub label: String,
    /// The lines read against this axis (the legend says so).
    pub series: Vec<Series>,
    /// Fixed range (shared by panels that are compared); from the data when `None`.
    pub range: Option<(f64, f64)>,
}

impl RightAxis {
    /// The fixed range, else 0 to a little above the largest finite value.
    pub fn bounds(&self) -> (f64, f64) {
        if let Some(range) = self.range {
            return widen(Some(range));
        }
        let hi = finite_bounds(&self.series, |p| p.1).map_or(1.0, |(_, hi)| hi.max(0.0));
        widen(Some((0.0, hi * (1.0 + HEADROOM))))
    }
}

/// Room above the data, as a fraction of the Y range.
const HEADROOM: f64 = 0.05;
/// Extra room when marker labels are drawn at the top (three rows of labels).
const MARKER_HEADROOM: f64 = 0.2;

/// A line chart, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// File stem of the PNG/SVG (`latency-cdf-interactive`).
    pub stem: String,
    /// Caption above the chart.
    pub title: String,
    /// X axis description, with its unit.
    pub x_label: String,
    /// Y axis description, with its unit.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Fixed X range (shared by panels that are compared); from the data when `None`.
    pub x_range: Option<(f64, f64)>,
    /// Fixed Y range (e.g. 0..1 for fractions); computed from the data when `None`.
    pub y_range: Option<(f64, f64)>,
    /// Lines read on their own axis at the right (a rare series, such as 429s next to
    /// thousands of admissions, would otherwise lie flat on the X axis).
    pub right: Option<RightAxis>,
    /// Draw a dot at every point (few points: a line alone hides where the data is).
    pub point_markers: bool,
    /// Start the X axis at 0 even when the data starts later (latencies, counts).
    pub x_from_zero: bool,
    /// Labelled vertical lines `(x, label)` at scenario events (spikes, outages, key events),
    /// in X axis units; drawn thin and grey, outside the legend, and only within the X range.
    pub markers: Vec<(f64, String)>,
}

impl LineChart {
    /// A chart with no series yet, Y range from the data.
    pub fn new(stem: &str, title: &str, x_label: &str, y_label: &str) -> Self {
        LineChart {
            stem: stem.to_string(),
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            series: Vec::new(),
            x_range: None,
            y_range: None,
            right: None,
            point_markers: false,
            x_from_zero: false,
            markers: Vec::new(),
        }
    }

    /// X bounds over every finite point (0..1 when there is none; never empty).
    pub fn x_bounds(&self) -> (f64, f64) {
        if let Some(range) = self.x_range {
            return widen(Some(range));
        }
        widen(match self.x_extent() {
            Some((lo, hi)) if self.x_from_zero => Some((lo.min(0.0), hi)),
            other => other,
        })
    }

    /// Y bounds: the fixed range, else 0 (or the minimum, if negative) to above the max, with
    /// room for marker labels when there are markers (the legend sits above the plot).
    pub fn y_bounds(&self) -> (f64, f64) {
        if let Some(range) = self.y_range {
            return widen(Some(range));
        }
        let (lo, hi) = self.bounds(|p| p.1).unwrap_or((0.0, 1.0));
        let lo = lo.min(0.0);
        let headroom = if self.markers.is_empty() {
            HEADROOM
        } else {
            HEADROOM + MARKER_HEADROOM
        };
        widen(Some((lo, hi + (hi - lo) * headroom)))
    }

    /// X extent of every line (the right axis's lines share the X axis), or Y extent of the
    /// left axis's lines.
    fn bounds(&self, axis: impl Fn(&(f64, f64)) -> f64 + Copy) -> Option<(f64, f64)> {
        finite_bounds(&self.series, axis)
    }

    fn x_extent(&self) -> Option<(f64, f64)> {
        let own = self.bounds(|p| p.0);
        let right = self
            .right
            .as_ref()
            .and_then(|r| finite_bounds(&r.series, |p| p.0));
        match (own, right) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        }
    }
}

fn include(acc: Option<(f64, f64)>, v: f64) -> (f64, f64) {
    match acc {
        None => (v, v),
        Some((lo, hi)) => (f64::min(lo, v), f64::max(hi, v)),
    }
}

/// Smallest and largest finite value of `axis` over the points of `series`.
fn finite_bounds(series: &[Series], axis: impl Fn(&(f64, f64)) -> f64) -> Option<(f64, f64)> {
    series
        .iter()
        .flat_map(|s| s.points.iter().map(&axis))
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| Some(include(acc, v)))
}

/// At most about `max` points of `line`, evenly spaced, always keeping the last one (so the
/// line still ends where the data ends).
pub fn thin(line: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    let step = line.len().div_ceil(max.max(1)).max(1);
    let last = line.last().copied();
    let mut out: Vec<(f64, f64)> = line.into_iter().step_by(step).collect();
    if let Some(end) = last.filter(|e| out.last() != Some(e)) {
        out.push(end);
    }
    out
}

/// Give every chart the union of their X and Y ranges, so side-by-side panels are read on
/// the same scales (a queue of 1,000 must not look as tall as one of 2,000).
pub fn share_axes(charts: &mut [LineChart]) {
    let union = |a: (f64, f64), b: (f64, f64)| (a.0.min(b.0), a.1.max(b.1));
    let x = charts.iter().map(LineChart::x_bounds).reduce(union);
    let y = charts.iter().map(LineChart::y_bounds).reduce(union);
    let right = charts
        .iter()
        .filter_map(|c| c.right.as_ref().map(RightAxis::bounds))
        .reduce(union);
    for chart in charts.iter_mut() {
        chart.x_range = x;
        chart.y_range = y;
        if let Some(axis) = &mut chart.right {
            axis.range = right;
        }
    }
}

fn widen(range: Option<(f64, f64)>) -> (f64, f64) {
    match range {
        Some((lo, hi)) if hi > lo => (lo, hi),
        Some((lo, _)) => (lo, lo + 1.0),
        None => (0.0, 1.0),
    }
}

/// Tick text: integers without decimals, small values with up to three significant decimals,
/// large ones short (`250k`, `1.5M`) so they never run into the axis description.
pub fn tick(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        return format!("{}M", tick(value / 1e6));
    }
    if magnitude >= 1e4 {
        return format!("{}k", tick(value / 1e3));
    }
    let text = if magnitude >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A file-name-safe form of a name: lowercase ASCII letters, digits and dashes.
pub fn slug(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let words: Vec<&str> = mapped.split('-').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        "x".to_string()
    } else {
        words.join("-")
    }
}

/// [`slug`] of each name, made unique: a slug already taken by an earlier name gets `-2`,
/// `-3`, … (the first unchanged), so `A b` and `a-b`, or two names without ASCII letters, do
/// not write one chart file over the other, while names that do not collide keep their file
/// names.
pub fn unique_slugs<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for name in names {
        let base = slug(name);
        let mut candidate = base.clone();
        let mut n = 1;
        while taken.contains(&candidate) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        taken.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_slugs_are_numbered_and_others_kept() {
        assert_eq!(
            unique_slugs(["A b", "a-b", "token-bucket", "ü", "é", "a-b-2"]),
            ["a-b", "a-b-2", "token-bucket", "x", "x-2", "a-b-2-2"]
        );
    }

    #[test]
    fn bounds_are_never_empty_and_ignore_non_finite_points() {
        let mut chart = LineChart::new("s", "t", "x", "y");
        assert_eq!(chart.x_bounds(), (0.0, 1.0));
        chart.series.push(Series {
            name: "a".into(),
            color: 0,
            points: vec![(2.0, 5.0), (f64::NAN, 1.0), (2.0, f64::INFINITY)],
            dashed: false,
            halo: false,
        });
        assert_eq!(chart.x_bounds(), (2.0, 3.0));
        assert_eq!(chart.y_bounds(), (0.0, 5.25));
        chart.x_from_zero = true;
        assert_eq!(chart.x_bounds(), (0.0, 2.0));
    }

    #[test]
    fn ticks_and_slugs_read_well() {
        assert_eq!(tick(1500.0), "1500");
        assert_eq!(tick(250_000.0), "250k");
        assert_eq!(tick(12_500.0), "12.5k");
        assert_eq!(tick(1_500_000.0), "1.5M");
        assert_eq!(tick(-20_000.0), "-20k");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(slug("Token Bucket/v2"), "token-bucket-v2");
        assert_eq!(slug("///"), "x");
        assert_eq!(slug("p99 (ms)"), "p99-ms");
    }
}
