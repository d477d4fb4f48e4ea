//! How many output tokens a request is reserved for when its body names no `max_tokens`.
//!
//! Why not the emulator's default (64): a real model without `max_tokens` may write up to its
//! documented maximum, and the layers and the budget reserve the estimate before the call (the
//! usage settles it after). Under-reserving lets a burst of such requests past a token limit
//! or a cap that the actual usage then overshoots; over-reserving only refuses early and is
//! refunded. So: `--default-max-tokens` when given (the operator's word wins), else the model's
//! `max_output_tokens` from the file's `models:` catalogue when it lists the model, else
//! [`DEFAULT_MAX_TOKENS`].

use spillway_core::policy::budget::BudgetSetup;
use spillway_emulate::request::{Parsed, Shape};
use std::collections::HashMap;

/// The default of `--default-max-tokens`: OpenAI's chat models write at most 4,096 to 16,384
/// (or more) tokens; the lower end keeps an unknown model's reservation from starving a
/// token limit, the settle corrects it either way.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Output estimates by model (see the module docs).
#[derive(Debug, Clone)]
pub struct OutputEstimate {
    by_model: HashMap<String, u64>,
    default: u64,
}

impl OutputEstimate {
    /// `flag` for every model if given, else from the file's model catalogue (if any) and
    /// [`DEFAULT_MAX_TOKENS`] for models it does not list.
    pub fn new(budget: Option<&BudgetSetup>, flag: Option<u64>) -> Self {
        let models = budget.into_iter().flat_map(|b| {
            b.models
                .catalogue
                .iter()
                .map(|(_, m)| (m.name.clone(), m.max_output_tokens))
        });
        Self::from_models(models, flag)
    }

    /// [`OutputEstimate::new`] from `(model, max_output_tokens)` pairs.
    fn from_models(models: impl Iterator<Item = (String, u64)>, flag: Option<u64>) -> Self {
        let by_model = match flag {
            Some(_) => HashMap::new(),
            None => models.collect(),
        };
        OutputEstimate {
            by_model,
            default: flag.unwrap_or(DEFAULT_MAX_TOKENS),
        }
    }

    /// The output tokens to reserve for `parsed`: what it names, else (chat) its model's
    /// maximum. Completions keep OpenAI's documented default (16), embeddings write none.
    pub fn output(&self, parsed: &Parsed) -> u64 {
        if parsed.max_tokens_named || parsed.shape != Shape::Chat {
            return parsed.max_tokens;
        }
        self.by_model
            .get(&parsed.model)
            .copied()
            .unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(model: &str, body_max: Option<u64>) -> Parsed {
        let max = body_max.map_or(String::new(), |m| format!(r#","max_tokens":{m}"#));
        let body =
            format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]{max}}}"#);
        spillway_emulate::request::parse(Shape::Chat, body.as_bytes()).expect("parses")
    }

    #[test]
    fn an_unnamed_max_tokens_is_the_models_maximum_or_the_default_never_64() {
        let models = || std::iter::once(("big".to_string(), 16384));
        let estimate = OutputEstimate::from_models(models(), None);
        assert_eq!(estimate.output(&chat("big", Some(10))), 10);
        assert_eq!(estimate.output(&chat("big", None)), 16384);
        assert_eq!(estimate.output(&chat("unknown", None)), DEFAULT_MAX_TOKENS);
        let flagged = OutputEstimate::from_models(models(), Some(500));
        assert_eq!(flagged.output(&chat("big", None)), 500);
        assert_eq!(flagged.output(&chat("big", Some(10))), 10);
    }
}
