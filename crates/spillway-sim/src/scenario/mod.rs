//! Scenario files: YAML in, a validated [`Scenario`] or every error found, out.
//!
//! Pipeline: [`raw`] (serde, mirrors the YAML, unknown fields rejected) → `validate` (units,
//! ranges, names) → `model`. Errors carry `file:line:column: field: message`.

pub use spillway_core::policy::budget;
pub use spillway_core::policy::distributed;
mod layers;
mod model;
pub use spillway_core::policy::models;
pub mod provider;
pub mod raw;
pub mod report;
pub mod serve;
pub use distributed::{Balancer, InstancesSpec, SyncMode};
pub use schedule::{ClassSettings, SchedulerSpec};
pub use spillway_core::policy::schedule;
mod trace;
pub use spillway_core::policy::units;
pub use spillway_core::policy::upstream;
pub use upstream::UpstreamSpec;
mod validate;
pub use validate::{MAX_POLICIES, PLAIN_NAME_RULE, is_plain_name};
pub mod work;

pub use model::*;
pub use spillway_core::policy::{
    LocatedError as ScenarioError, LocatedErrors as ScenarioErrors, field_path_at, quoted_key,
};

use spillway_core::policy::Reporter;
use std::path::Path;

/// Read and validate a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioErrors> {
    match spillway_core::input_file::read_text(path, spillway_core::input_file::MAX_TEXT_BYTES) {
        Ok(text) => parse(path, &text),
        Err(e) => Err(ScenarioErrors(vec![ScenarioError::unreadable(
            path,
            "the scenario",
            e,
        )])),
    }
}

/// What an empty scenario file lacks.
const SCENARIO_NEEDS: &str =
    "a scenario needs at least `duration`, `provider`, `traffic` and `policies`";

/// Validate scenario text; `path` is used for messages and the default name.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioErrors> {
    let mut reporter = Reporter::new(path, text);
    let Some(raw) = reporter.parse_yaml::<raw::RawScenario>(Some(SCENARIO_NEEDS)) else {
        return Err(reporter.into_errors());
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".to_string());
    report::check(raw.report.as_ref(), &mut reporter);
    let scenario = validate::validate(raw, &stem, &mut reporter);
    reporter.finish()?;
    scenario
        .ok_or_else(|| ScenarioErrors(vec![ScenarioError::whole_file(path, "invalid scenario")]))
}
