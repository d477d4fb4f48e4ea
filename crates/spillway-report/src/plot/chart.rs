//! The one kind of figure a report draws: named line series on numeric axes, with a title,
//! axis labels that carry units, and a legend. Builders in the sibling modules turn run data
//! into [`LineChart`]s; [`crate::plot::render`] draws them.

/// Where the legend box sits (chosen per chart so it hides the least data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegendAt {
    /// Top left corner of the plotting area.
    UpperLeft,
    /// Top right corner.
    UpperRight,
    /// Bottom right corner.
    LowerRight,
}

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
}

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
    /// Legend placement.
    pub legend: LegendAt,
    /// Start the X axis at 0 even when the data starts later (latencies, counts).
    pub x_from_zero: bool,
    /// Labelled vertical lines `(x, label)` at scenario events (spikes, outages, key events),
    /// in X axis units; drawn thin and grey, outside the legend, and only within the X range.
    pub markers: Vec<(f64, String)>,
}

impl LineChart {
    /// A chart with no series yet, Y range from the data, legend at the upper right.
    pub fn new(stem: &str, title: &str, x_label: &str, y_label: &str) -> Self {
        LineChart {
            stem: stem.to_string(),
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            series: Vec::new(),
            x_range: None,
            y_range: None,
            legend: LegendAt::UpperRight,
            x_from_zero: false,
            markers: Vec::new(),
        }
    }

    /// X bounds over every finite point (0..1 when there is none; never empty).
    pub fn x_bounds(&self) -> (f64, f64) {
        if let Some(range) = self.x_range {
            return widen(Some(range));
        }
        let bounds = self.bounds(|p| p.0);
        widen(match bounds {
            Some((lo, hi)) if self.x_from_zero => Some((lo.min(0.0), hi)),
            other => other,
        })
    }

    /// Y bounds: the fixed range, else 0 (or the minimum, if negative) to above the max, with
    /// room for the legend when it sits at the top.
    pub fn y_bounds(&self) -> (f64, f64) {
        if let Some(range) = self.y_range {
            return widen(Some(range));
        }
        let (lo, hi) = self.bounds(|p| p.1).unwrap_or((0.0, 1.0));
        let lo = lo.min(0.0);
        let headroom = match self.legend {
            LegendAt::LowerRight => 0.05,
            LegendAt::UpperLeft | LegendAt::UpperRight => 0.30,
        };
        widen(Some((lo, hi + (hi - lo) * headroom)))
    }

    fn bounds(&self, axis: impl Fn(&(f64, f64)) -> f64) -> Option<(f64, f64)> {
        let values = self.series.iter().flat_map(|s| s.points.iter().map(&axis));
        values
            .filter(|v| v.is_finite())
            .fold(None, |acc, v| match acc {
                None => Some((v, v)),
                Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
            })
    }
}

/// Give every chart the union of their X and Y ranges, so side-by-side panels are read on
/// the same scales (a queue of 1,000 must not look as tall as one of 2,000).
pub fn share_axes(charts: &mut [LineChart]) {
    let union = |a: (f64, f64), b: (f64, f64)| (a.0.min(b.0), a.1.max(b.1));
    let x = charts.iter().map(LineChart::x_bounds).reduce(union);
    let y = charts.iter().map(LineChart::y_bounds).reduce(union);
    for chart in charts.iter_mut() {
        chart.x_range = x;
        chart.y_range = y;
    }
}

fn widen(range: Option<(f64, f64)>) -> (f64, f64) {
    match range {
        Some((lo, hi)) if hi > lo => (lo, hi),
        Some((lo, _)) => (lo, lo + 1.0),
        None => (0.0, 1.0),
    }
}

/// Tick text: integers without decimals, small values with up to three significant decimals.
pub fn tick(value: f64) -> String {
    let magnitude = value.abs();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_never_empty_and_ignore_non_finite_points() {
        let mut chart = LineChart::new("s", "t", "x", "y");
        assert_eq!(chart.x_bounds(), (0.0, 1.0));
        chart.series.push(Series {
            name: "a".into(),
            color: 0,
            points: vec![(2.0, 5.0), (f64::NAN, 1.0), (2.0, f64::INFINITY)],
            dashed: false,
        });
        assert_eq!(chart.x_bounds(), (2.0, 3.0));
        chart.legend = LegendAt::LowerRight;
        assert_eq!(chart.y_bounds(), (0.0, 5.25));
        chart.x_from_zero = true;
        assert_eq!(chart.x_bounds(), (0.0, 2.0));
    }

    #[test]
    fn ticks_and_slugs_read_well() {
        assert_eq!(tick(1500.0), "1500");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(slug("Token Bucket/v2"), "token-bucket-v2");
        assert_eq!(slug("///"), "x");
        assert_eq!(slug("p99 (ms)"), "p99-ms");
    }
}
