//! A group of charts about one question, with the text the report shows next to them.

use super::LineChart;

/// A report section: what it shows, its charts, and why charts are missing if they are.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Anchor id in the HTML (`latency`).
    pub id: &'static str,
    /// Heading.
    pub title: &'static str,
    /// What the charts show and how to read them.
    pub about: String,
    /// The charts (none when skipped).
    pub charts: Vec<LineChart>,
    /// Why some or all charts were not drawn (an input file or column is absent).
    pub note: Option<String>,
}

impl Section {
    /// A section whose charts could not be drawn.
    pub fn skipped(id: &'static str, title: &'static str, about: String, note: String) -> Self {
        Section {
            id,
            title,
            about,
            charts: Vec::new(),
            note: Some(note),
        }
    }
}
