//! A policy file: the `layers:`, `policies:`, `classes:` and money blocks (`models:`,
//! `starts_at_utc:`, `keys:`, `events:`) of a scenario, alone. Nothing about traffic or
//! providers: a production gateway loads the policy it was shown in the simulator, from the
//! same text, with the same errors. `classes:` is the scenario's block, read by the same
//! validation: in a scenario it is the users' patience, in a server the queue deadline after
//! which a waiting request is answered instead of served.
//!
//! Two things a scenario takes from its provider must be explicit here: `max_in_flight` (a
//! scenario defaults it to the provider's concurrency) is required, and
//! `upstream: { fallback: true }` is allowed (whether a fallback provider exists is the
//! deployment's business).

use super::budget::{BudgetSetup, RawEvent, RawKey};
use super::policies::{PolicyBlocks, PolicyDefaults, PolicySpec, RawPolicy, validate};
use super::schedule::{ClassSettings, RawClasses, classes};
use super::{LocatedError, LocatedErrors, RawLayer, Reporter, S};
use crate::input_file::{MAX_TEXT_BYTES, read_text};
use serde::Deserialize;
use std::path::Path;

/// What an empty policy file lacks.
const POLICY_NEEDS: &str = "a policy file needs at least `policies`";

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicyFile {
    /// Named limiter layers, referenced by policies.
    #[serde(default)]
    pub layers: Vec<RawLayer>,
    /// The policies.
    pub policies: Vec<RawPolicy>,
    /// Per-class queue-wait objective and deadline, as in a scenario.
    #[serde(default)]
    pub classes: RawClasses,
    /// The model catalogue file (relative to this file), needed by `budget:` blocks.
    pub models: Option<S<String>>,
    /// UTC time of day of `Time::ZERO`, `HH:MM` (default `00:00`).
    pub starts_at_utc: Option<S<String>>,
    /// Upstream API keys.
    #[serde(default)]
    pub keys: Vec<RawKey>,
    /// Key rotations, revocations and price changes.
    #[serde(default)]
    pub events: Vec<RawEvent>,
    /// `spillway serve` settings (upstream, client keys).
    pub serve: Option<super::serve::RawServe>,
}

/// A loaded, valid policy file.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    /// The policies, in file order.
    pub policies: Vec<PolicySpec>,
    /// Per-class settings, indexed by [`Class::index`](super::Class::index) (defaults: the
    /// seed's SLOs, no deadline).
    pub classes: [ClassSettings; 4],
    /// Models, keys and price changes, when the file names a `models:` catalogue.
    pub budget: Option<BudgetSetup>,
    /// The `serve:` block.
    pub serve: Option<super::serve::ServeSpec>,
}

impl PolicyFile {
    /// The policy called `name`.
    pub fn policy(&self, name: &str) -> Option<&PolicySpec> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// Read and validate a policy file.
pub fn load(path: &Path) -> Result<PolicyFile, LocatedErrors> {
    match read_text(path, MAX_TEXT_BYTES) {
        Ok(text) => parse(path, &text),
        Err(e) => Err(LocatedErrors(vec![LocatedError::unreadable(
            path,
            "the policy file",
            e,
        )])),
    }
}

/// Validate policy-file text; `path` is used for messages and to find the catalogue.
pub fn parse(path: &Path, text: &str) -> Result<PolicyFile, LocatedErrors> {
    let mut r = Reporter::new(path, text);
    let Some(raw) = r.parse_yaml::<RawPolicyFile>(Some(POLICY_NEEDS)) else {
        return Err(r.into_errors());
    };
    for p in raw.policies.iter().filter(|p| p.max_in_flight.is_none()) {
        r.bad(
            &p.name,
            "`max_in_flight` is required in a policy file (a scenario defaults it to its provider's concurrency)",
        );
    }
    let blocks = PolicyBlocks {
        layers: &raw.layers,
        policies: &raw.policies,
        models: raw.models.as_ref(),
        starts_at_utc: raw.starts_at_utc.as_ref(),
        keys: &raw.keys,
        events: &raw.events,
    };
    let defaults = PolicyDefaults {
        max_in_flight: None,
        has_fallback_provider: true,
    };
    let (policies, budget) = validate(&blocks, &defaults, &mut r);
    let classes = classes(&raw.classes, &mut r);
    let serve = super::serve::validate(raw.serve.as_ref(), &raw.keys, &mut r);
    r.finish()?;
    match (policies, classes, budget, serve) {
        (Some(policies), Some(classes), Some(budget), Some(serve)) => Ok(PolicyFile {
            policies,
            classes,
            budget,
            serve,
        }),
        // Every `None` was reported; this is a guard, not a path.
        _ => Err(LocatedErrors(vec![LocatedError::whole_file(
            path,
            "invalid policy file",
        )])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Duration;
    use crate::limit::Scope;

    const TEXT: &str = "\
layers:
  - { name: team-rpm, scope: team, algorithm: fixed-window, limit: 5, per: 1m }
classes:
  batch: { deadline: 2s }
  interactive: { slo: 1s }
policies:
  - { name: p, layers: [team-rpm], max_in_flight: 1 }
";

    #[test]
    fn a_policy_file_declares_classes_and_team_layers() {
        let file = parse(Path::new("gateway.yaml"), TEXT).unwrap();
        let p = file.policy("p").unwrap();
        assert_eq!(p.layers[0].scope, Scope::Team);
        let batch = file.classes[super::super::Class::Batch.index()];
        assert_eq!(batch.deadline, Some(Duration::from_secs(2)));
        assert_eq!(file.classes[0].slo, Duration::from_secs(1));
        // Classes it does not name keep the defaults: no deadline.
        assert_eq!(file.classes[1].deadline, None);
    }

    #[test]
    fn a_bad_scope_or_class_is_a_located_error() {
        let bad = |from: &str, to: &str| {
            parse(Path::new("gateway.yaml"), &TEXT.replace(from, to))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            bad("scope: team", "scope: squad"),
            "gateway.yaml:2:30: layers[0].scope: unknown scope `squad`; expected `global`, `user`, `team`, `feature`, `api_key`"
        );
        let zero = bad("deadline: 2s", "deadline: 0s");
        assert!(
            zero.starts_with("gateway.yaml:4:22: classes.batch.deadline: must be longer than 0"),
            "{zero}"
        );
        let unknown = bad("  batch:", "  urgent:");
        assert!(
            unknown.starts_with("gateway.yaml:4:3: classes.urgent: unknown field `urgent`, expected one of interactive"),
            "{unknown}"
        );
    }

    #[test]
    fn a_virtual_key_must_name_a_class() {
        let dir =
            std::env::temp_dir().join(format!("spillway-policy-class-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ann.key"), "sk-ann-0001\n").unwrap();
        let serve = "serve:\n  upstream: http://127.0.0.1:9000\n  virtual_keys:\n    - { name: ann, secret: { file: ann.key }, team: search, class: urgent }\n";
        let err = parse(&dir.join("gateway.yaml"), &format!("{TEXT}{serve}")).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        let text = err.to_string();
        assert!(
            text.ends_with("serve.virtual_keys[0].class: unknown class `urgent`; expected `interactive`, `standard`, `batch` or `background`"),
            "{text}"
        );
        assert!(text.contains("gateway.yaml:11:68: "), "{text}");
    }
}
