//! Cost estimates before a call and what they got wrong after it.
//!
//! Input tokens are known before the call; output tokens are not. Each feature (prompt
//! template, endpoint) picks how to guess them ([`OutputEstimate`]): a fixed number, the
//! model's maximum (an upper bound, so a cap is never exceeded), or a learned integer EWMA of
//! the feature's actual outputs. After the call, [`Estimator::record`] feeds the actual output
//! back and tracks the absolute error per feature, in tokens and in nano-USD.
//!
//! The EWMA is integer: state in 1/256 token, `ewma += (x − ewma) >> shift`, so `shift = 3`
//! is α = 1/8. No floats, reproducible everywhere.

use std::collections::BTreeMap;

use super::histogram::ErrorHistogram;
use super::model::{ModelCatalogue, ModelId};

/// Most features tracked individually; later ones share the default policy and are counted in
/// [`Estimator::untracked`] (bounded memory whatever feature ids callers invent).
pub const MAX_FEATURES: usize = 4096;

/// Fixed-point scale of the EWMA state (1/256 token).
const FP_BITS: u32 = 8;

/// How a feature guesses its output tokens.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OutputEstimate {
    /// Always this many.
    Fixed(u64),
    /// The model's `max_output_tokens`: an upper bound, so caps are never exceeded.
    MaxTokens,
    /// The EWMA of actual outputs; `initial` until the first sample.
    Learned {
        /// The guess before anything was observed.
        initial: u64,
    },
}

/// A priced guess for one request on one model.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct CostEstimate {
    /// The model priced.
    pub model: ModelId,
    /// Input tokens (known).
    pub input_tokens: u64,
    /// Output tokens (estimated), at most the model's maximum.
    pub output_tokens: u64,
    /// The estimated cost, nano-USD.
    pub cost_nano_usd: u64,
}

/// What a feature's estimates got wrong so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EstimateErrors {
    /// |estimated − actual| output tokens.
    pub tokens: ErrorHistogram,
    /// |estimated − actual| cost, nano-USD.
    pub cost_nano_usd: ErrorHistogram,
    /// Requests whose actual cost exceeded the estimate.
    pub under_estimates: u64,
    /// The largest amount by which an actual cost exceeded its estimate, nano-USD: the
    /// ledger's overshoot bound for sequential traffic.
    pub max_under_estimate_nano_usd: u64,
}

#[derive(Clone, Debug)]
struct FeatureState {
    policy: OutputEstimate,
    ewma_fp: u64,
    samples: u64,
    errors: EstimateErrors,
}

/// Per-feature output policies, learned averages and error statistics.
#[derive(Clone, Debug)]
pub struct Estimator {
    default_policy: OutputEstimate,
    shift: u32,
    features: BTreeMap<u64, FeatureState>,
    untracked: u64,
}

impl Estimator {
    /// An estimator using `default_policy` for features without their own, and EWMA weight
    /// α = 2^-`shift` (clamped to 0..=16; 3 means 1/8).
    pub fn new(default_policy: OutputEstimate, shift: u32) -> Self {
        Estimator {
            default_policy,
            shift: shift.min(16),
            features: BTreeMap::new(),
            untracked: 0,
        }
    }
    /// Give `feature` its own policy (keeps what it learned). Ignored beyond [`MAX_FEATURES`].
    pub fn set_policy(&mut self, feature: u64, policy: OutputEstimate) {
        if let Some(state) = self.state_mut(feature) {
            state.policy = policy;
        }
    }
    /// The output tokens `feature` expects on `model` (capped at the model's maximum; 0 for an
    /// unknown model).
    pub fn output_tokens(&self, feature: u64, model: ModelId, catalogue: &ModelCatalogue) -> u64 {
        let Some(spec) = catalogue.get(model) else {
            return 0;
        };
        let (policy, learned) = match self.features.get(&feature) {
            Some(s) => (
                s.policy,
                (s.samples > 0).then(|| s.ewma_fp.div_ceil(1 << FP_BITS)),
            ),
            None => (self.default_policy, None),
        };
        let guess = match policy {
            OutputEstimate::Fixed(n) => n,
            OutputEstimate::MaxTokens => spec.max_output_tokens,
            OutputEstimate::Learned { initial } => learned.unwrap_or(initial),
        };
        guess.min(spec.max_output_tokens)
    }
    /// Price a request of `feature` with `input_tokens` on `model`.
    pub fn estimate(
        &self,
        feature: u64,
        model: ModelId,
        input_tokens: u64,
        catalogue: &ModelCatalogue,
    ) -> CostEstimate {
        let output_tokens = self.output_tokens(feature, model, catalogue);
        CostEstimate {
            model,
            input_tokens,
            output_tokens,
            cost_nano_usd: catalogue
                .cost_nano_usd(model, input_tokens, output_tokens)
                .unwrap_or(0),
        }
    }
    /// Learn from a completed request: update `feature`'s EWMA with the actual output tokens
    /// and its error statistics.
    pub fn record(
        &mut self,
        feature: u64,
        estimate: &CostEstimate,
        actual_output_tokens: u64,
        actual_cost_nano_usd: u64,
    ) {
        let shift = self.shift;
        let Some(state) = self.state_mut(feature) else {
            return;
        };
        let x_fp = actual_output_tokens.saturating_mul(1 << FP_BITS);
        state.ewma_fp = if state.samples == 0 {
            x_fp
        } else {
            state.ewma_fp - (state.ewma_fp >> shift) + (x_fp >> shift)
        };
        state.samples = state.samples.saturating_add(1);
        let errors = &mut state.errors;
        errors
            .tokens
            .record(estimate.output_tokens.abs_diff(actual_output_tokens));
        errors
            .cost_nano_usd
            .record(estimate.cost_nano_usd.abs_diff(actual_cost_nano_usd));
        if actual_cost_nano_usd > estimate.cost_nano_usd {
            errors.under_estimates = errors.under_estimates.saturating_add(1);
            let under = actual_cost_nano_usd - estimate.cost_nano_usd;
            errors.max_under_estimate_nano_usd = errors.max_under_estimate_nano_usd.max(under);
        }
    }
    /// The learned average output of `feature`, tokens (rounded up), if it has samples.
    pub fn learned_output_tokens(&self, feature: u64) -> Option<u64> {
        let s = self.features.get(&feature)?;
        (s.samples > 0).then(|| s.ewma_fp.div_ceil(1 << FP_BITS))
    }
    /// The error statistics of `feature`, if it has been seen.
    pub fn errors(&self, feature: u64) -> Option<&EstimateErrors> {
        self.features.get(&feature).map(|s| &s.errors)
    }
    /// Every tracked feature's errors, by feature id (for reports).
    pub fn all_errors(&self) -> impl Iterator<Item = (u64, &EstimateErrors)> {
        self.features.iter().map(|(f, s)| (*f, &s.errors))
    }
    /// Every feature's errors merged: the run-wide `estimate_error_p95` is
    /// `overall_errors().cost_nano_usd.quantile(950)`.
    pub fn overall_errors(&self) -> EstimateErrors {
        let mut all = EstimateErrors::default();
        for s in self.features.values() {
            all.tokens.merge(&s.errors.tokens);
            all.cost_nano_usd.merge(&s.errors.cost_nano_usd);
            all.under_estimates = all.under_estimates.saturating_add(s.errors.under_estimates);
            all.max_under_estimate_nano_usd = all
                .max_under_estimate_nano_usd
                .max(s.errors.max_under_estimate_nano_usd);
        }
        all
    }
    /// Completions not tracked because [`MAX_FEATURES`] features were already tracked.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    fn state_mut(&mut self, feature: u64) -> Option<&mut FeatureState> {
        if !self.features.contains_key(&feature) && self.features.len() >= MAX_FEATURES {
            self.untracked = self.untracked.saturating_add(1);
            return None;
        }
        let policy = self.default_policy;
        Some(
            self.features
                .entry(feature)
                .or_insert_with(|| FeatureState {
                    policy,
                    ewma_fp: 0,
                    samples: 0,
                    errors: EstimateErrors::default(),
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::model::ModelSpec;

    fn catalogue() -> ModelCatalogue {
        ModelCatalogue::new(vec![ModelSpec {
            name: "m".into(),
            tier: 1,
            input_nano_usd_per_mtok: 1_000_000,
            output_nano_usd_per_mtok: 4_000_000,
            max_output_tokens: 1000,
        }])
        .expect("valid")
    }

    #[test]
    fn policies_give_their_guess_capped_at_the_model_maximum() {
        let cat = catalogue();
        let mut e = Estimator::new(OutputEstimate::Fixed(300), 3);
        assert_eq!(e.output_tokens(1, ModelId(0), &cat), 300);
        e.set_policy(2, OutputEstimate::MaxTokens);
        assert_eq!(e.output_tokens(2, ModelId(0), &cat), 1000);
        e.set_policy(3, OutputEstimate::Fixed(5000));
        assert_eq!(e.output_tokens(3, ModelId(0), &cat), 1000, "capped");
        let est = e.estimate(1, ModelId(0), 2000, &cat);
        assert_eq!(est.cost_nano_usd, 2000 + 300 * 4);
        assert_eq!(e.output_tokens(1, ModelId(9), &cat), 0);
    }

    #[test]
    fn learned_estimate_converges_and_errors_are_tracked() {
        let cat = catalogue();
        let mut e = Estimator::new(OutputEstimate::Learned { initial: 100 }, 2);
        assert_eq!(e.output_tokens(7, ModelId(0), &cat), 100);
        for _ in 0..40 {
            let est = e.estimate(7, ModelId(0), 0, &cat);
            e.record(7, &est, 400, 1600);
        }
        assert_eq!(e.learned_output_tokens(7), Some(400));
        let errors = e.errors(7).expect("seen");
        assert_eq!(errors.tokens.count(), 40);
        assert_eq!(errors.tokens.max(), 300, "first guess 100 vs actual 400");
        assert_eq!(errors.under_estimates, 1, "only the initial guess was low");
        assert_eq!(errors.max_under_estimate_nano_usd, 1200);
        assert_eq!(
            errors.tokens.quantile(500),
            0,
            "converged after the first sample"
        );
    }

    #[test]
    fn ewma_moves_by_the_shifted_difference() {
        let cat = catalogue();
        let mut e = Estimator::new(OutputEstimate::Learned { initial: 0 }, 1);
        let est = e.estimate(1, ModelId(0), 0, &cat);
        e.record(1, &est, 100, 0);
        e.record(1, &est, 200, 0);
        assert_eq!(e.learned_output_tokens(1), Some(150), "α = 1/2");
    }
}
