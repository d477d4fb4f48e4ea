//! Scenario files: YAML in, a validated [`Scenario`] or every error found, out.
//!
//! Pipeline: [`raw`] (serde, mirrors the YAML, unknown fields rejected) → `validate` (units,
//! ranges, names) → [`model`]. Errors carry `file:line:column: field: message`.

pub mod budget;
pub mod distributed;
mod error;
mod key_events;
mod layers;
mod model;
pub mod models;
pub mod provider;
pub mod raw;
pub mod report;
pub mod schedule;
mod serde_words;
pub mod serve;
pub use distributed::{Balancer, InstancesSpec, SyncMode};
pub use schedule::{ClassSettings, SchedulerSpec};
mod trace;
pub mod units;
pub mod upstream;
pub use upstream::UpstreamSpec;
mod validate;
pub mod work;

pub use error::{ScenarioError, ScenarioErrors, field_path_at, quoted_key};
pub use model::*;

use error::Reporter;
use std::path::Path;

/// Read and validate a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioErrors> {
    match spillway_core::input_file::read_text(path, spillway_core::input_file::MAX_TEXT_BYTES) {
        Ok(text) => parse(path, &text),
        Err(e) => Err(ScenarioErrors(vec![ScenarioError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the scenario: {e}"),
        }])),
    }
}

/// Validate scenario text; `path` is used for messages and the default name.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioErrors> {
    let mut reporter = Reporter::new(path, text);
    let raw: raw::RawScenario = match serde_saphyr::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            report_type_errors(e, text, &mut reporter);
            return Err(reporter.into_errors());
        }
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".to_string());
    report::check(raw.report.as_ref(), &mut reporter);
    let scenario = validate::validate(raw, &stem, &mut reporter);
    reporter.finish()?;
    scenario.ok_or_else(|| {
        ScenarioErrors(vec![ScenarioError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            field: String::new(),
            message: "invalid scenario".to_string(),
        }])
    })
}

/// Most type errors reported from one file (each costs a parse).
const MAX_TYPE_ERRORS: usize = 100;

/// Report serde's error `first`, then every later wrongly typed number: each is patched in a
/// copy of the text and the copy parsed again (serde stops at the first error; the README
/// promises every error). Stops at the first error that is not a bad number.
fn report_type_errors(first: serde_saphyr::Error, text: &str, reporter: &mut Reporter<'_>) {
    let mut error = Some(first);
    let mut current = text.to_string();
    for _ in 0..MAX_TYPE_ERRORS {
        let Some(e) = error.take() else {
            return;
        };
        let (line, column) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((1, 1));
        let message = serde_message(&e);
        reporter.at(
            line,
            column,
            serde_words::in_user_words(&message, &current, line, column),
        );
        let Some(next) = serde_words::with_number_fixed(&message, &current, line, column) else {
            return;
        };
        current = next;
        error = serde_saphyr::from_str::<raw::RawScenario>(&current).err();
    }
}

/// serde-saphyr's message without its `line N column M:` prefix and snippet (we print our own).
fn serde_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error:").unwrap_or(first).trim();
    match first.find("column ") {
        Some(i) if first.starts_with("line ") => match first[i..].find(": ") {
            Some(j) => first[i + j + 2..].to_string(),
            None => first.to_string(),
        },
        _ => first.to_string(),
    }
}
