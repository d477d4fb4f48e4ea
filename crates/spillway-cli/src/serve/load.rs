//! The file `--policy` names: a scenario (every `scenarios/*.yaml` serves unchanged) or a
//! standalone policy file (layers, policies, money, `serve:`; no traffic), both validated by
//! the same core rules with the same located errors. What `serve` takes from either is here.

use spillway_core::Duration;
use spillway_core::input_file::{MAX_TEXT_BYTES, read_text};
use spillway_core::policy::budget::BudgetSetup;
use spillway_core::policy::serve::ServeSpec;
use spillway_core::policy::{LocatedError, LocatedErrors, PolicySpec, is_scenario};
use std::path::Path;

/// What `serve` needs of the file.
#[derive(Debug)]
pub struct Served {
    /// The policies, in file order.
    pub policies: Vec<PolicySpec>,
    /// Models, keys and price changes (`models:`).
    pub budget: Option<BudgetSetup>,
    /// The `serve:` block.
    pub serve: Option<ServeSpec>,
    /// Seeds the jitter streams (a scenario's `seed:`; 0 for a policy file).
    pub seed: u64,
    /// Queue deadline of each class (the file's `classes:`; none when it has none).
    pub deadlines: Vec<Option<Duration>>,
}

/// Read `path` as a scenario when it has `provider:` or `traffic:`, else as a policy file.
pub fn load(path: &Path) -> Result<Served, LocatedErrors> {
    let text = read_text(path, MAX_TEXT_BYTES)
        .map_err(|e| LocatedErrors(vec![LocatedError::unreadable(path, "the policy file", e)]))?;
    if is_scenario(&text) {
        let s = spillway_sim::scenario::parse(path, &text)?;
        return Ok(Served {
            policies: s.policies,
            budget: s.budget,
            serve: s.serve,
            seed: s.seed,
            deadlines: s.classes.iter().map(|c| c.deadline).collect(),
        });
    }
    let file = spillway_core::policy::parse(path, &text)?;
    Ok(Served {
        policies: file.policies,
        budget: file.budget,
        serve: file.serve,
        seed: 0,
        deadlines: file.classes.iter().map(|c| c.deadline).collect(),
    })
}
