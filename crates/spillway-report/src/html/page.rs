//! Assembling the page. Everything is inline so the file can be mailed or attached to a
//! ticket as is; links to the PNGs are for copying into documents.

use super::{comparison_table, escape, headline_html, headline_unknown_html, key_caps_html};
use crate::headline::answers;
use crate::input::RunData;
use crate::plot::{Rendered, Section};
use spillway_sim::scenario::report::headline_of;
use std::fmt::Write;

/// A section with its drawn charts.
#[derive(Debug, Clone)]
pub struct PlotFigure {
    /// Text and chart definitions.
    pub section: Section,
    /// The charts drawn, in order.
    pub plots: Vec<Rendered>,
}

const STYLE: &str = "
body { font-family: 'DejaVu Sans', system-ui, sans-serif; color: #222; background: #fff;
  max-width: 1400px; margin: 0 auto; padding: 20px; line-height: 1.45; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 2px solid #e3e6ea; padding-bottom: 4px; margin-top: 36px; }
.meta { color: #555; }
table { border-collapse: collapse; font-size: 12px; margin: 12px 0; }
.scroll { overflow-x: auto; }
th, td { padding: 3px 6px; border-bottom: 1px solid #e3e6ea; text-align: left; white-space: nowrap; }
th { background: #f4f6f8; position: sticky; top: 0; white-space: normal; vertical-align: bottom; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { background: #d8f0d8; font-weight: bold; }
table.headline { font-size: 14px; } table.headline th { max-width: 12em; }
ul.verdicts { padding-left: 20px; } ul.verdicts li { margin: 2px 0; }
tr.group td { border-top: 2px solid #b9c0c8; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(540px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid #e3e6ea; padding: 6px; max-width: 900px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 12px; color: #555; }
.note { background: #fff6dd; border-left: 4px solid #e0b000; padding: 6px 10px; }
@media (max-width: 900px) { body { padding: 8px; } th, td { padding: 2px 4px; } }
.bar { display: inline-block; width: 80px; height: 9px; background: #e3e6ea; vertical-align: middle; }
.bar > span { display: block; height: 100%; background: #1f77b4; } .bar.full > span { background: #d62728; }
pre { background: #f4f6f8; padding: 12px; overflow-x: auto; font-size: 12px; max-height: 480px; }
dt { font-family: monospace; font-weight: bold; margin-top: 6px; } dd { margin-left: 20px; }
";

/// What each comparison-table column means (README, \"Reading the outputs\").
const METRICS: [(&str, &str); 12] = [
    (
        "offered",
        "requests that arrived at the gateway (the same for every policy)",
    ),
    (
        "admitted",
        "passed every limiter layer (offered = admitted + rejected); higher is better",
    ),
    (
        "rejected",
        "refused by a limiter layer; which layer: the rejections table; lower is better",
    ),
    (
        "shed",
        "admitted, then dropped because the gateway queue was full; lower is better",
    ),
    ("completed", "answered successfully; higher is better"),
    (
        "failed",
        "gave up after the last upstream attempt (429 every time); lower is better",
    ),
    (
        "p50_ms … p99_ms, max_ms",
        "end-to-end latency of completed requests in milliseconds: arrival at the gateway to \
         the last byte of the response, queue wait and retries included (HDR histogram, 0.1 % \
         precision; max exact); lower is better",
    ),
    (
        "max_wait_ms",
        "longest time a request spent queued in the gateway; lower is better",
    ),
    (
        "p99_all_ms",
        "99th percentile from arrival to the final answer of every request that left, failed \
         ones included (at their last error): unlike p99_ms it cannot improve by giving up on \
         slow requests; lower is better",
    ),
    (
        "upstream_429",
        "calls the provider answered 429 (rate limited); lower is better",
    ),
    (
        "cost_usd",
        "spend on completed requests (exact nano-USD, printed to 6 decimals); not scored: it \
         follows the work completed",
    ),
    (
        "best value",
        "highlighted per column among the policies of the same class; ties are not highlighted",
    ),
];

/// The whole page.
pub fn page(data: &RunData, figures: &[PlotFigure]) -> String {
    let name = data.info.as_ref().map_or_else(
        || {
            data.dir
                .file_name()
                .map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned())
        },
        |i| i.scenario.clone(),
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Spillway report: {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Spillway report: {title}</h1>\n",
        title = escape(&name)
    );
    out.push_str(&run_line(data));
    out.push_str(&match data.scenario_yaml.as_deref() {
        Some(yaml) => headline_html(&answers(
            &headline_of(yaml),
            &data.summary.columns,
            &data.summary.rows,
        )),
        None => headline_unknown_html(),
    });
    out.push_str("<nav class=\"meta\">Sections: <a href=\"#headline\">headline</a> · <a href=\"#comparison\">full summary</a>");
    for f in figures {
        let _ = write!(
            out,
            " · <a href=\"#{}\">{}</a>",
            f.section.id,
            escape(f.section.title)
        );
    }
    out.push_str(" · <a href=\"#metrics\">what the columns mean</a> · <a href=\"#scenario\">scenario</a></nav>\n");
    out.push_str(
        "<h2 id=\"comparison\">Full summary</h2>\n<p>Every column of summary.csv, grouped; \
         hover a cell for its exact value. Columns a scenario does not use are left out.</p>\n",
    );
    out.push_str(&comparison_table(&data.summary));
    out.push_str(&rejections(data));
    for f in figures {
        out.push_str(&figure_section(f));
        if f.section.id == "spend" {
            out.push_str(&key_caps_html(data));
        }
    }
    out.push_str(&metric_notes());
    out.push_str(&scenario(data));
    out.push_str("</body>\n</html>\n");
    out
}

fn run_line(data: &RunData) -> String {
    match &data.info {
        Some(info) => format!(
            "<p class=\"meta\">Scenario <b>{}</b> · seed <b>{}</b> · {} s of traffic · \
             policies: {}. The same scenario and seed reproduce these numbers exactly.</p>\n",
            escape(&info.scenario),
            info.seed,
            info.duration_s,
            escape(&data.policies().join(", "))
        ),
        None => format!(
            "<p class=\"meta\">Seed unknown (run.csv is absent) · policies: {}.</p>\n",
            escape(&data.policies().join(", "))
        ),
    }
}

fn rejections(data: &RunData) -> String {
    if data.rejections.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h3>Rejections by layer</h3>\n<p>A request refused by two layers at once counts for \
         both.</p>\n<table>\n<thead><tr><th>policy</th><th>layer</th><th>rejected</th></tr></thead>\n<tbody>\n",
    );
    for r in &data.rejections {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            escape(&r.policy),
            escape(&r.layer),
            r.rejected
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn figure_section(f: &PlotFigure) -> String {
    let s = &f.section;
    let mut out = format!(
        "<h2 id=\"{}\">{}</h2>\n<p>{}</p>\n",
        s.id,
        escape(s.title),
        escape(&s.about)
    );
    if let Some(note) = &s.note {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    if !f.plots.is_empty() {
        out.push_str("<div class=\"figures\">\n");
        for plot in &f.plots {
            let _ = write!(
                out,
                "<figure>\n{}\n<figcaption>{} · <a href=\"plots/{stem}.png\">PNG</a> · \
                 <a href=\"plots/{stem}.svg\">SVG</a></figcaption>\n</figure>\n",
                inline_svg(&plot.svg, &plot.title),
                escape(&plot.title),
                stem = escape(&plot.stem),
            );
        }
        out.push_str("</div>\n");
    }
    out
}

/// The SVG document as an element: without an XML prolog, labelled for screen readers.
fn inline_svg(svg: &str, title: &str) -> String {
    let body = match svg.find("<svg") {
        Some(start) => &svg[start..],
        None => svg,
    };
    body.replacen(
        "<svg",
        &format!("<svg role=\"img\" aria-label=\"{}\"", escape(title)),
        1,
    )
}

fn metric_notes() -> String {
    let mut out = String::from("<h2 id=\"metrics\">What the columns mean</h2>\n<dl>\n");
    for (name, meaning) in METRICS {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(meaning));
    }
    out.push_str("</dl>\n");
    out
}

fn scenario(data: &RunData) -> String {
    match &data.scenario_yaml {
        Some(yaml) => format!(
            "<h2 id=\"scenario\">Scenario</h2>\n<p>scenario.yaml as run:</p>\n<pre>{}</pre>\n",
            escape(yaml)
        ),
        None => "<h2 id=\"scenario\">Scenario</h2>\n<p class=\"note\">scenario.yaml is absent \
                 from the run directory.</p>\n"
            .to_string(),
    }
}
