//! The model catalogue: what each model is called, how capable it is (tier), and what a token
//! costs, in integer nano-USD per million tokens.
//!
//! Why integers: a list price such as $0.15 per 1 M tokens is 150 000 000 nano-USD per 1 M,
//! exact; the cost of `n` tokens is `ceil(n × price / 10⁶)` in 128-bit arithmetic, so summing
//! millions of requests never drifts and a budget check is an exact comparison.

use super::error::BudgetError;

/// Most models a catalogue holds (ids are `u16`, and a ladder scans the list).
pub const MAX_MODELS: usize = 256;

/// Tokens per pricing unit: prices are per one million tokens.
const TOKENS_PER_PRICE_UNIT: u128 = 1_000_000;

/// A model's index in its [`ModelCatalogue`] (stable for the catalogue's life).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelId(pub u16);

/// One model and its list price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    /// Name as the provider spells it (`gpt-4o-mini`); unique in a catalogue.
    pub name: String,
    /// Capability rank: higher is more capable. The ladder only ever moves to a lower or equal
    /// tier, so "degraded" is well defined.
    pub tier: u8,
    /// Price of one million input tokens, nano-USD.
    pub input_nano_usd_per_mtok: u64,
    /// Price of one million output tokens, nano-USD.
    pub output_nano_usd_per_mtok: u64,
    /// The most output tokens one response may have (the `MaxTokens` estimate); > 0.
    pub max_output_tokens: u64,
}

impl ModelSpec {
    /// Cost of a request with these token counts, nano-USD, rounded up (never under-charges),
    /// saturating at `u64::MAX`.
    pub fn cost_nano_usd(&self, input_tokens: u64, output_tokens: u64) -> u64 {
        let input = u128::from(input_tokens) * u128::from(self.input_nano_usd_per_mtok);
        let output = u128::from(output_tokens) * u128::from(self.output_nano_usd_per_mtok);
        let micro = input.saturating_add(output);
        u64::try_from(micro.div_ceil(TOKENS_PER_PRICE_UNIT)).unwrap_or(u64::MAX)
    }
    /// The order "dearer" means throughout the budget module: tier first, then output price,
    /// then input price. A ladder never moves up this order as spend grows.
    pub fn dearness(&self) -> (u8, u64, u64) {
        (
            self.tier,
            self.output_nano_usd_per_mtok,
            self.input_nano_usd_per_mtok,
        )
    }
}

/// Validated models, addressed by [`ModelId`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelCatalogue {
    models: Vec<ModelSpec>,
}

impl ModelCatalogue {
    /// Validate and build: 1..=[`MAX_MODELS`] models, unique non-empty names, `max_output_tokens
    /// > 0`. Every problem is reported, not just the first.
    pub fn new(models: Vec<ModelSpec>) -> Result<Self, Vec<BudgetError>> {
        let mut errors = Vec::new();
        if models.is_empty() {
            errors.push(BudgetError::EmptyCatalogue);
        }
        if models.len() > MAX_MODELS {
            errors.push(BudgetError::TooManyModels(models.len()));
        }
        for (i, m) in models.iter().enumerate() {
            if m.name.trim().is_empty() {
                errors.push(BudgetError::EmptyModelName(i));
            } else if models[..i].iter().any(|o| o.name == m.name) {
                errors.push(BudgetError::DuplicateModel(m.name.clone()));
            }
            if m.max_output_tokens == 0 {
                errors.push(BudgetError::ZeroMaxOutput(m.name.clone()));
            }
        }
        if errors.is_empty() {
            Ok(ModelCatalogue { models })
        } else {
            Err(errors)
        }
    }
    /// The model `id`, or `None` for an id from another catalogue.
    pub fn get(&self, id: ModelId) -> Option<&ModelSpec> {
        self.models.get(usize::from(id.0))
    }
    /// The id of the model called `name`.
    pub fn id(&self, name: &str) -> Option<ModelId> {
        let index = self.models.iter().position(|m| m.name == name)?;
        u16::try_from(index).ok().map(ModelId)
    }
    /// The id of the model called `name`, or an error naming it.
    pub fn require(&self, name: &str) -> Result<ModelId, BudgetError> {
        self.id(name)
            .ok_or_else(|| BudgetError::UnknownModel(name.to_owned()))
    }
    /// Every model with its id, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = (ModelId, &ModelSpec)> {
        (0u16..).map(ModelId).zip(self.models.iter())
    }
    /// Number of models.
    pub fn len(&self) -> usize {
        self.models.len()
    }
    /// Whether the catalogue is empty (never true for a validated one).
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
    /// Cost of a request on `model`, nano-USD (`None` for an unknown id).
    pub fn cost_nano_usd(
        &self,
        model: ModelId,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Option<u64> {
        Some(self.get(model)?.cost_nano_usd(input_tokens, output_tokens))
    }
    /// Whether `a` is strictly dearer than `b` (see [`ModelSpec::dearness`]); unknown ids are
    /// never dearer.
    pub fn is_dearer(&self, a: ModelId, b: ModelId) -> bool {
        match (self.get(a), self.get(b)) {
            (Some(a), Some(b)) => a.dearness() > b.dearness(),
            _ => false,
        }
    }
    /// Change a model's prices (a provider's price change): the catalogue stays valid, but a
    /// [`DegradationLadder`](super::DegradationLadder) built on the old prices should be
    /// re-validated with [`DegradationLadder::validate`](super::DegradationLadder::validate).
    pub fn set_prices(
        &mut self,
        model: ModelId,
        input_nano_usd_per_mtok: u64,
        output_nano_usd_per_mtok: u64,
    ) -> Result<(), BudgetError> {
        let spec = self
            .models
            .get_mut(usize::from(model.0))
            .ok_or(BudgetError::UnknownModelId(model.0))?;
        spec.input_nano_usd_per_mtok = input_nano_usd_per_mtok;
        spec.output_nano_usd_per_mtok = output_nano_usd_per_mtok;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec(name: &str, tier: u8, input: u64, output: u64) -> ModelSpec {
        ModelSpec {
            name: name.into(),
            tier,
            input_nano_usd_per_mtok: input,
            output_nano_usd_per_mtok: output,
            max_output_tokens: 4096,
        }
    }

    #[test]
    fn cost_is_exact_and_rounds_up() {
        // gpt-4o-mini list price: $0.15 in, $0.60 out per 1M tokens.
        let m = spec("mini", 1, 150_000_000, 600_000_000);
        assert_eq!(m.cost_nano_usd(1_000_000, 0), 150_000_000);
        assert_eq!(m.cost_nano_usd(1_000, 500), 150_000 + 300_000);
        assert_eq!(
            m.cost_nano_usd(1, 0),
            150,
            "0.15 nano-USD per token × 1 = 150 exactly"
        );
        let odd = spec("odd", 1, 1, 0);
        assert_eq!(
            odd.cost_nano_usd(1, 0),
            1,
            "a fraction of a nano-USD rounds up"
        );
        assert_eq!(
            spec("max", 1, u64::MAX, u64::MAX).cost_nano_usd(u64::MAX, u64::MAX),
            u64::MAX
        );
    }

    #[test]
    fn validation_reports_every_problem() {
        let mut zero = spec("a", 1, 1, 1);
        zero.max_output_tokens = 0;
        let errors = ModelCatalogue::new(vec![zero, spec("a", 1, 1, 1), spec(" ", 1, 1, 1)])
            .expect_err("three problems");
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            matches!(ModelCatalogue::new(vec![]), Err(e) if e == vec![BudgetError::EmptyCatalogue])
        );
    }

    #[test]
    fn lookup_and_dearness() {
        let cat = ModelCatalogue::new(vec![spec("big", 3, 10, 40), spec("small", 1, 1, 4)])
            .expect("valid");
        let (big, small) = (cat.id("big").expect("big"), cat.id("small").expect("small"));
        assert!(cat.is_dearer(big, small));
        assert!(!cat.is_dearer(small, big));
        assert!(!cat.is_dearer(ModelId(9), small));
        assert_eq!(
            cat.require("nope"),
            Err(BudgetError::UnknownModel("nope".into()))
        );
    }
}
