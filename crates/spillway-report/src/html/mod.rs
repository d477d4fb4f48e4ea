//! `report.html`: one self-contained page (inline CSS and SVG, no script, no network) with the
//! scenario, the seed, the comparison table, the charts and what each metric means.

mod comparison;
mod headline;
mod key_caps;
mod page;

pub use comparison::{Better, better, comparison_table, is_best};
pub use headline::{NO_SCENARIO, headline_html, headline_unknown_html};
pub use key_caps::key_caps_html;
pub use page::{PlotFigure, page};

/// Escape text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
