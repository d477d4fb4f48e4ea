//! A run directory's report: charts (PNG + SVG under `plots/`) and `report.html`, built from
//! the CSVs alone. Everything is rendered in memory first, so bad input writes nothing; each
//! file is then written atomically.

use crate::ReportError;
use crate::atomic::write_atomic;
use crate::html::{PlotFigure, page};
use crate::input::RunData;
use crate::plot::{
    fairness_section, latency_section, queue_section, render, spend_section, traffic_section,
};
use std::path::{Path, PathBuf};

/// Files of a report, relative to the run directory, with their bytes.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// `(relative path, bytes)` in a fixed order; `report.html` last.
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// Notes about skipped charts (absent optional inputs).
    pub notes: Vec<String>,
    /// What the report could not say and a reader would miss (no scenario.yaml: no headline).
    pub warnings: Vec<String>,
}

/// Render every chart and the page for `data`.
pub fn build(data: &RunData) -> Result<ReportFiles, ReportError> {
    let sections = [
        latency_section(data),
        traffic_section(data),
        queue_section(data),
        spend_section(data),
        fairness_section(data),
    ];
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let mut figures = Vec::new();
    for section in sections {
        let plots = section
            .charts
            .iter()
            .map(render)
            .collect::<Result<Vec<_>, _>>()?;
        for plot in &plots {
            let stem = Path::new("plots").join(&plot.stem);
            files.push((stem.with_extension("png"), plot.png.clone()));
            files.push((stem.with_extension("svg"), plot.svg.clone().into_bytes()));
        }
        notes.extend(section.note.clone());
        figures.push(PlotFigure { section, plots });
    }
    files.push((
        PathBuf::from("report.html"),
        page(data, &figures).into_bytes(),
    ));
    let warnings = data
        .scenario_yaml
        .is_none()
        .then(|| crate::html::NO_SCENARIO.to_string())
        .into_iter()
        .collect();
    Ok(ReportFiles {
        files,
        notes,
        warnings,
    })
}

/// Load `dir`, render, and write `plots/` and `report.html` into it. Returns what was written.
pub fn write_report(dir: &Path) -> Result<ReportFiles, ReportError> {
    let data = RunData::load(dir)?;
    let report = build(&data)?;
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).map_err(|source| ReportError::Write {
        path: plots.clone(),
        source,
    })?;
    for (relative, bytes) in &report.files {
        let path = dir.join(relative);
        write_atomic(&path, bytes).map_err(|source| ReportError::Write { path, source })?;
    }
    Ok(report)
}
