//! The model catalogue file (`scenarios/models.yaml`): models with list prices, and named
//! degradation ladders, validated into [`crate::budget`] types with every error located
//! (`file:line:column: field: message`).
//!
//! Prices are decimal USD per million tokens in the file and integer nano-USD from here on.
//! `price_seen` is required: prices change, and a number without a date cannot be checked.

use std::collections::BTreeMap;
use std::path::Path;

use crate::budget::{DegradationLadder, LadderStep, ModelCatalogue, ModelSpec, StepAction};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{LocatedError, LocatedErrors, Reporter};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModelsFile {
    /// The models, in catalogue order.
    pub models: Vec<RawModel>,
    /// Named ladders.
    #[serde(default)]
    pub ladders: BTreeMap<String, Vec<RawStep>>,
}

/// One model as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Provider's model name.
    pub name: Spanned<String>,
    /// `openai`, `anthropic`, ...
    pub provider: String,
    /// Capability rank, higher = more capable.
    pub tier: Spanned<u8>,
    /// USD per million input tokens.
    pub input_usd_per_mtok: Spanned<f64>,
    /// USD per million output tokens.
    pub output_usd_per_mtok: Spanned<f64>,
    /// Most output tokens per response.
    pub max_output_tokens: Spanned<u64>,
    /// When the price was read, `YYYY-MM-DD`.
    pub price_seen: Spanned<String>,
    /// Where it was read.
    pub source: Option<String>,
}

/// One ladder step as written: `at_per_mille` and exactly one of `use` / `exhausted: true`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Threshold, per-mille of the budget.
    pub at_per_mille: Spanned<u32>,
    /// Model to route to.
    #[serde(rename = "use")]
    pub model: Option<Spanned<String>>,
    /// Stop here (reject or queue, per the deciding cap).
    pub exhausted: Option<Spanned<bool>>,
}

/// The validated file.
#[derive(Clone, Debug)]
pub struct ModelsFile {
    /// Models and prices.
    pub catalogue: ModelCatalogue,
    /// Per model (catalogue order): provider, price date, source.
    pub provenance: Vec<Provenance>,
    /// Ladders by name.
    pub ladders: BTreeMap<String, DegradationLadder>,
}

/// Where a model's price came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// Provider.
    pub provider: String,
    /// `YYYY-MM-DD`.
    pub price_seen: String,
    /// Page, if given.
    pub source: Option<String>,
}

/// Read and validate a models file.
pub fn load_models(path: &Path) -> Result<ModelsFile, LocatedErrors> {
    match crate::input_file::read_text(path, crate::input_file::MAX_TEXT_BYTES) {
        // A file that is not a catalogue (`models: /etc/shadow`, a key file) would have its
        // lines quoted back by the YAML errors: name what was expected instead.
        Ok(text) if super::kind_of(&text) != super::FileKind::ModelCatalogue => {
            Err(LocatedErrors(vec![LocatedError::whole_file(
                path,
                "not a model catalogue: expected a YAML file with a top-level \
                 `models:` list, like scenarios/models.yaml (its content is not shown)",
            )]))
        }
        Ok(text) => parse_models(path, &text),
        Err(e) => Err(LocatedErrors(vec![LocatedError::unreadable(
            path,
            "the models file",
            e,
        )])),
    }
}

/// Validate models-file text (`path` is for messages).
pub fn parse_models(path: &Path, text: &str) -> Result<ModelsFile, LocatedErrors> {
    let mut r = Reporter::new(path, text);
    let Some(raw) = r.parse_yaml::<RawModelsFile>(None) else {
        return Err(r.into_errors());
    };
    let specs: Vec<Option<ModelSpec>> = raw
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| model(i, m, &raw.models, &mut r))
        .collect();
    if raw.models.is_empty() {
        r.whole("models", "list at least one model");
    }
    let catalogue = match specs.into_iter().collect::<Option<Vec<_>>>() {
        Some(specs) if !specs.is_empty() => ModelCatalogue::new(specs)
            .map_err(|errors| errors.iter().for_each(|e| r.whole("models", e.to_string())))
            .ok(),
        _ => None,
    };
    let mut ladders = BTreeMap::new();
    if let Some(cat) = &catalogue {
        for (name, steps) in &raw.ladders {
            if let Some(l) = ladder(name, steps, cat, &mut r) {
                ladders.insert(name.clone(), l);
            }
        }
    }
    r.finish()?;
    let provenance = raw
        .models
        .into_iter()
        .map(|m| Provenance {
            provider: m.provider,
            price_seen: m.price_seen.value,
            source: m.source,
        })
        .collect();
    match catalogue {
        Some(catalogue) => Ok(ModelsFile {
            catalogue,
            provenance,
            ladders,
        }),
        None => Err(LocatedErrors(vec![LocatedError::whole_file(
            path,
            "invalid models file",
        )])),
    }
}

fn at<T>(r: &mut Reporter<'_>, value: &Spanned<T>, message: impl Into<String>) {
    let l = &value.referenced;
    r.at(l.line() as usize, l.column() as usize, message);
}

fn model(index: usize, m: &RawModel, all: &[RawModel], r: &mut Reporter<'_>) -> Option<ModelSpec> {
    let mut ok = true;
    if m.name.value.trim().is_empty() {
        at(r, &m.name, "the name must not be empty");
        ok = false;
    } else if all[..index].iter().any(|o| o.name.value == m.name.value) {
        at(
            r,
            &m.name,
            format!(
                "model `{}` is listed twice; names must be unique",
                m.name.value
            ),
        );
        ok = false;
    }
    if m.max_output_tokens.value == 0 {
        at(
            r,
            &m.max_output_tokens,
            "max_output_tokens must be at least 1",
        );
        ok = false;
    }
    if !is_date(&m.price_seen.value) {
        at(
            r,
            &m.price_seen,
            format!(
                "price_seen must be a date YYYY-MM-DD, got `{}`",
                m.price_seen.value
            ),
        );
        ok = false;
    }
    let input = usd_per_mtok(&m.input_usd_per_mtok, r);
    let output = usd_per_mtok(&m.output_usd_per_mtok, r);
    Some(ModelSpec {
        name: m.name.value.clone(),
        tier: m.tier.value,
        input_nano_usd_per_mtok: input?,
        output_nano_usd_per_mtok: output?,
        max_output_tokens: m.max_output_tokens.value,
    })
    .filter(|_| ok)
}

/// A price in USD per million tokens as integer nano-USD per million tokens (prices enter as
/// decimal dollars and are integers from here on), or a located error. The one price check of
/// the workspace: the catalogue's models and the simulator's provider use it.
pub fn usd_per_mtok(usd: &Spanned<f64>, r: &mut Reporter<'_>) -> Option<u64> {
    let nano = usd.value * 1e9;
    if usd.value.is_finite() && usd.value >= 0.0 && nano < u64::MAX as f64 {
        Some(nano.round() as u64)
    } else {
        at(
            r,
            usd,
            format!(
                "price must be a number of USD per million tokens ≥ 0, got {}",
                usd.value
            ),
        );
        None
    }
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let numeric = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if parts.len() != 3 || !numeric(parts[0], 4) || !numeric(parts[1], 2) || !numeric(parts[2], 2) {
        return false;
    }
    let (month, day) = (
        parts[1].parse::<u32>().unwrap_or(0),
        parts[2].parse::<u32>().unwrap_or(0),
    );
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

fn ladder(
    name: &str,
    steps: &[RawStep],
    cat: &ModelCatalogue,
    r: &mut Reporter<'_>,
) -> Option<DegradationLadder> {
    let mut built = Vec::with_capacity(steps.len());
    for step in steps {
        let action = match (&step.model, &step.exhausted) {
            (Some(m), None) => match cat.id(&m.value) {
                Some(id) => StepAction::Use(id),
                None => {
                    at(
                        r,
                        m,
                        format!("unknown model `{}`; models: {}", m.value, names(cat)),
                    );
                    return None;
                }
            },
            (None, Some(e)) if e.value => StepAction::Exhausted,
            _ => {
                at(
                    r,
                    &step.at_per_mille,
                    "a step needs exactly one of `use: <model>` or `exhausted: true`",
                );
                return None;
            }
        };
        built.push(LadderStep {
            at_per_mille: step.at_per_mille.value,
            action,
        });
    }
    DegradationLadder::new(built, cat)
        .map_err(|e| {
            let index = ladder_error_index(&e).unwrap_or(0);
            match steps.get(index) {
                Some(s) => at(r, &s.at_per_mille, e.to_string()),
                None => r.whole(&format!("ladders.{name}"), e.to_string()),
            }
        })
        .ok()
}

fn ladder_error_index(e: &crate::budget::BudgetError) -> Option<usize> {
    use crate::budget::BudgetError as E;
    match e {
        E::LadderNotIncreasing { index, .. } | E::LadderUpgrades { index, .. } => Some(*index),
        E::ExhaustedNotLast(index) => Some(*index),
        _ => None,
    }
}

fn names(cat: &ModelCatalogue) -> String {
    cat.iter()
        .map(|(_, m)| format!("`{}`", m.name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse_models(Path::new("m.yaml"), text) {
            Ok(_) => vec![],
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_shipped_catalogue_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/models.yaml");
        let file = load_models(&path).expect("scenarios/models.yaml is valid");
        let mini = file.catalogue.id("gpt-4o-mini").expect("listed");
        let spec = file.catalogue.get(mini).expect("known");
        assert_eq!(
            (spec.input_nano_usd_per_mtok, spec.output_nano_usd_per_mtok),
            (150_000_000, 600_000_000)
        );
        assert!(file.provenance.iter().all(|p| is_date(&p.price_seen)));
        assert_eq!(file.ladders.len(), 2);
    }

    const GOOD_MODEL: &str = "models:
  - name: a
    provider: p
    tier: 2
    input_usd_per_mtok: 1.0
    output_usd_per_mtok: 2.0
    max_output_tokens: 10
    price_seen: \"2026-01-02\"
";

    #[test]
    fn bad_values_are_located() {
        let text = GOOD_MODEL
            .replace("max_output_tokens: 10", "max_output_tokens: 0")
            .replace("2026-01-02", "yesterday");
        let e = errors(&text);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with(
                "m.yaml:7:24: models[0].max_output_tokens: max_output_tokens must be at least 1"
            ),
            "{}",
            e[0]
        );
        assert!(
            e[1].contains("models[0].price_seen") && e[1].contains("YYYY-MM-DD"),
            "{}",
            e[1]
        );
        let typo = errors(&GOOD_MODEL.replace("tier:", "teir:"));
        assert!(typo[0].contains("teir"), "{typo:?}");
    }

    #[test]
    fn a_model_without_a_required_field_is_named_as_a_whole() {
        let text = GOOD_MODEL.replace("    price_seen: \"2026-01-02\"\n", "");
        assert_eq!(
            errors(&text),
            ["m.yaml:2:5: models[0]: missing field `price_seen`"]
        );
    }

    #[test]
    fn ladder_errors_name_the_step() {
        let text =
            format!("{GOOD_MODEL}ladders:\n  x:\n    - {{ at_per_mille: 800, use: nope }}\n");
        let e = errors(&text);
        assert!(
            e[0].contains("ladders.x[0]") && e[0].contains("unknown model `nope`; models: `a`"),
            "{e:?}"
        );
        let text = format!(
            "{GOOD_MODEL}ladders:\n  x:\n    - {{ at_per_mille: 800, use: a }}\n    - {{ at_per_mille: 700, use: a }}\n"
        );
        let e = errors(&text);
        assert!(
            e[0].contains("m.yaml:12:") && e[0].contains("must be above"),
            "{e:?}"
        );
    }
}
