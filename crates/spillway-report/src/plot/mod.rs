//! Charts of a run, drawn with plotters to PNG and SVG (no system fonts: DejaVu Sans is
//! embedded). Builders turn [`crate::input::RunData`] into [`Section`]s of [`LineChart`]s;
//! [`render`] draws a chart.

mod chart;
mod fairness;
mod latency;
mod legend;
mod render;
mod section;
mod spend;
mod sweep;
mod timeline;

pub use chart::{LineChart, RightAxis, Series, share_axes, slug, thin, tick, unique_slugs};
pub use fairness::{fairness_section, gini, lorenz};
pub use latency::latency_section;
pub use render::{Rendered, SIZE, render};
pub use section::Section;
pub use spend::spend_section;
pub use sweep::{SweepPoint, sweep_chart};
pub use timeline::{MAX_POINTS, bucket_seconds, queue_section, traffic_section};
