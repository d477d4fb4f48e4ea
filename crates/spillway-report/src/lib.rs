//! # spillway-report
//!
//! Simulation results as files people read: CSVs ([`csv_out`]), the terminal comparison table
//! ([`table`]), charts ([`plot`], PNG and SVG) and a self-contained `report.html` ([`html`]).
//! Reports are rebuilt from a run directory's CSVs alone ([`input`], [`write_report`]), so a
//! report never disagrees with its data. Files are written to a temporary name and renamed
//! into place, so a failed run never leaves a half-written file.

#![forbid(unsafe_code)]

mod atomic;
pub mod budget_csv;
pub mod clock;
pub mod csv_out;
mod error;
pub mod format;
pub mod headline;
pub mod html;
pub mod input;
pub mod markers;
pub mod plot;
mod report;
pub mod sweep_out;
pub mod table;
pub mod trace_csv;
pub mod units;
pub mod users_csv;

pub use atomic::{AtomicFile, remove_partial_files, write_atomic};
pub use error::ReportError;
pub use report::{ReportFiles, build, write_report};
