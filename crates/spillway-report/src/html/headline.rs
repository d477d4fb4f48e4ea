//! The headline block at the top of the page: the scenario's questions as a policy ×
//! question table with the best marked, then one verdict line per question.

use super::escape;
use crate::headline::Answer;
use std::fmt::Write;

/// What a report says, on the page and as a warning, when the run directory has no
/// scenario.yaml: the headline questions are the scenario's, so they are unknown.
pub const NO_SCENARIO: &str = "scenario.yaml is absent from the run directory, so the \
headline questions its `report:` block asks are unknown and no headline is shown (copy the \
scenario file there as scenario.yaml and run `spillway report` again)";

/// The `<section>` for a run directory without scenario.yaml ([`NO_SCENARIO`]).
pub fn headline_unknown_html() -> String {
    format!(
        "<section id=\"headline\">\n<h2>Headline</h2>\n<p class=\"note\">{}.</p>\n</section>\n",
        escape(NO_SCENARIO)
    )
}

/// The `<section>`; a note pointing to `report: { headline: ... }` when the scenario asks none.
pub fn headline_html(answers: &[Answer]) -> String {
    let mut out = String::from("<section id=\"headline\">\n<h2>Headline</h2>\n");
    let Some(first) = answers.first() else {
        out.push_str(
            "<p>The scenario asks no headline questions (add <code>report: { headline: \
             [metric, metric of class] }</code> to it).</p>\n</section>\n",
        );
        return out;
    };
    out.push_str("<div class=\"scroll\">\n<table class=\"headline\">\n<thead><tr><th>policy</th>");
    for a in answers {
        let _ = write!(out, "<th>{}</th>", escape(&a.label));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (p, (policy, _)) in first.cells.iter().enumerate() {
        let _ = write!(out, "<tr><td>{}</td>", escape(policy));
        for a in answers {
            let value = a.cells.get(p).map_or("", |(_, v)| v.as_str());
            let (class, mark) = if a.best == Some(p) {
                ("num best", " ★")
            } else {
                ("num", "")
            };
            let _ = write!(out, "<td class=\"{class}\">{}{mark}</td>", escape(value));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n<ul class=\"verdicts\">\n");
    for a in answers {
        let _ = writeln!(
            out,
            "<li><b>{}</b>: {}</li>",
            escape(&a.label),
            escape(&a.verdict)
        );
    }
    out.push_str("</ul>\n</section>\n");
    out
}
