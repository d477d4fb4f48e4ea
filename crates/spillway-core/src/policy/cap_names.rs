//! The names of a policy's budget caps: what they may be, and the ledger's refusals said at
//! the cap they are about. A cap's name is how a refusal names it (`x-spillway-rejected-by`,
//! budget.csv), so it must be unique among the policy's caps and the API keys' budgets, and
//! must not read as a refusal that is no cap's.

use super::Reporter;
use super::S;
use super::budget::RawCap;
use crate::budget::{BudgetError, MAX_CAPS};
use std::collections::BTreeSet;

/// Report every cap name that is reserved or used twice; `false` if any was.
pub(super) fn check(caps: &[RawCap], r: &mut Reporter<'_>) -> bool {
    let mut names = BTreeSet::new();
    for c in caps {
        if let Some(reserved) = super::layers::reserved_label(&c.name.value) {
            // `serve` names the deciding cap in `x-spillway-rejected-by` and the body's
            // `blocking`, where a layer's name or a refusal that is no layer's stands.
            r.bad(
                &c.name,
                format!(
                    "cap name `{}` is reserved: a refusal names its deciding cap where other \
                     refusals name their layer or one of these labels \
                     (`x-spillway-rejected-by`), so the two would read the same; reserved: \
                     {reserved}",
                    c.name.value
                ),
            );
            return false;
        }
        if !names.insert(c.name.value.as_str()) {
            r.bad(
                &c.name,
                format!("cap name `{}` is used twice", c.name.value),
            );
            return false;
        }
    }
    true
}

/// Where and how to say why the ledger of the policy's `caps` and the keys' `key_caps`
/// budgets cannot be built (`e`): at the cap concerned, in the file's words; anything else at
/// `model`, the budget block's first line.
pub(super) fn ledger_error<'a>(
    caps: &'a [RawCap],
    key_caps: usize,
    model: &'a S<String>,
    e: &BudgetError,
) -> (&'a S<String>, String) {
    match e {
        // Names within the policy were checked first: the other one is a key's budget.
        BudgetError::DuplicateCap(name) => {
            if let Some(c) = caps.iter().find(|c| c.name.value == *name) {
                let message = format!(
                    "cap name `{name}` is the name of an API key's budget (keys' budgets are \
                     named `key:<environment>/<service>/<key>`); choose another"
                );
                return (&c.name, message);
            }
        }
        BudgetError::TooManyCaps(_) => {
            let n = caps.len();
            let message = format!(
                "{} here and {} share one ledger of at most {MAX_CAPS} caps ({} in all)",
                counted(n, "cap"),
                counted(key_caps, "API-key budget"),
                n + key_caps
            );
            // The ledger lists the policy's caps, then the keys' budgets: at the first cap over
            // when the policy's alone are too many, else at its last cap, after which the keys'
            // budgets overflow (at the budget when it lists no cap).
            let at = caps
                .get(MAX_CAPS)
                .or(caps.last())
                .map_or(model, |c| &c.name);
            return (at, message);
        }
        _ => {}
    }
    (model, format!("this budget cannot be built: {e}"))
}

/// `n` and `noun`, plural unless `n` is 1.
fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
