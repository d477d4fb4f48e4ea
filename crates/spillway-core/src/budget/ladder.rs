//! The degradation ladder: as a budget fills, route to cheaper models instead of failing.
//!
//! Thresholds are integer per-mille of a budget (800 → mid-tier, 950 → cheapest, 1000 →
//! exhausted). The ladder is **monotone**: more spend never yields a dearer model (checked when
//! built, in the [`ModelSpec::dearness`](super::ModelSpec::dearness) order), and a request that
//! already asked for a cheaper model keeps it (the ladder never upgrades).
//!
//! The same ladder serves load shedding's "downgrade standard traffic" step: feed it a pressure
//! level in per-mille (queue depth over its bound, say) instead of budget usage; see
//! [`DegradationLadder::model_for_pressure`].

use super::error::BudgetError;
use super::model::{ModelCatalogue, ModelId};

/// What a step does.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StepAction {
    /// Route to this model (or keep the requested one if it is cheaper).
    Use(ModelId),
    /// The budget is spent: reject or queue (the deciding cap's
    /// [`OnExhausted`](super::OnExhausted) says which).
    Exhausted,
}

/// One rung: from `at_per_mille` of the budget on, do `action`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct LadderStep {
    /// Usage (per-mille of the cap) at which this step starts.
    pub at_per_mille: u32,
    /// What to do from there.
    pub action: StepAction,
}

/// The ladder's answer for a usage level.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LadderChoice {
    /// Below every threshold, or the requested model is already cheaper: keep it.
    Requested,
    /// Route to this cheaper model.
    Degrade(ModelId),
    /// Out of budget.
    Exhausted,
}

/// Thresholds → models, validated monotone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DegradationLadder {
    steps: Vec<LadderStep>,
}

impl DegradationLadder {
    /// A ladder with no steps: always the requested model (caps still reject what does not fit).
    pub fn none() -> Self {
        DegradationLadder::default()
    }
    /// Validate against `catalogue` and build: thresholds strictly increasing, models known,
    /// each model no dearer than the previous step's, `Exhausted` only as the last step.
    pub fn new(steps: Vec<LadderStep>, catalogue: &ModelCatalogue) -> Result<Self, BudgetError> {
        let ladder = DegradationLadder { steps };
        ladder.validate(catalogue)?;
        Ok(ladder)
    }
    /// Re-check the ladder against a catalogue (after a price change, say).
    pub fn validate(&self, catalogue: &ModelCatalogue) -> Result<(), BudgetError> {
        let mut previous: Option<(u32, Option<ModelId>)> = None;
        for (index, step) in self.steps.iter().enumerate() {
            if let Some((at, _)) = previous
                && step.at_per_mille <= at
            {
                return Err(BudgetError::LadderNotIncreasing {
                    index,
                    at_per_mille: step.at_per_mille,
                    previous: at,
                });
            }
            let model = match step.action {
                StepAction::Exhausted if index + 1 != self.steps.len() => {
                    return Err(BudgetError::ExhaustedNotLast(index));
                }
                StepAction::Exhausted => None,
                StepAction::Use(m) => {
                    let spec = catalogue.get(m).ok_or(BudgetError::UnknownModelId(m.0))?;
                    if let Some((_, Some(earlier))) = previous
                        && catalogue.is_dearer(m, earlier)
                    {
                        return Err(BudgetError::LadderUpgrades {
                            index,
                            model: spec.name.clone(),
                            earlier: name(catalogue, earlier),
                        });
                    }
                    Some(m)
                }
            };
            previous = Some((step.at_per_mille, model.or(previous.and_then(|p| p.1))));
        }
        Ok(())
    }
    /// The steps, in threshold order.
    pub fn steps(&self) -> &[LadderStep] {
        &self.steps
    }
    /// The step in force at `per_mille` (the last one whose threshold is reached).
    pub fn step_at(&self, per_mille: u32) -> Option<&LadderStep> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.at_per_mille <= per_mille)
    }
    /// The choice at usage `per_mille` for a request that asked for `requested`.
    pub fn choose(
        &self,
        per_mille: u32,
        requested: ModelId,
        catalogue: &ModelCatalogue,
    ) -> LadderChoice {
        match self.step_at(per_mille).map(|s| s.action) {
            None => LadderChoice::Requested,
            Some(StepAction::Exhausted) => LadderChoice::Exhausted,
            Some(StepAction::Use(m)) if catalogue.is_dearer(requested, m) => {
                LadderChoice::Degrade(m)
            }
            Some(StepAction::Use(_)) => LadderChoice::Requested,
        }
    }
    /// Load shedding's view: the model to use at pressure `pressure_per_mille` (`None` = shed).
    pub fn model_for_pressure(
        &self,
        pressure_per_mille: u32,
        requested: ModelId,
        catalogue: &ModelCatalogue,
    ) -> Option<ModelId> {
        match self.choose(pressure_per_mille, requested, catalogue) {
            LadderChoice::Requested => Some(requested),
            LadderChoice::Degrade(m) => Some(m),
            LadderChoice::Exhausted => None,
        }
    }
    /// The ladder's models strictly cheaper than `model`, dearest first: the fallbacks tried
    /// when the chosen model's estimate does not fit a cap.
    pub fn cheaper_than(&self, model: ModelId, catalogue: &ModelCatalogue) -> Vec<ModelId> {
        let mut out: Vec<ModelId> = Vec::new();
        for step in &self.steps {
            if let StepAction::Use(m) = step.action
                && catalogue.is_dearer(model, m)
                && !out.contains(&m)
            {
                out.push(m);
            }
        }
        out
    }
}

fn name(catalogue: &ModelCatalogue, id: ModelId) -> String {
    catalogue
        .get(id)
        .map_or_else(|| format!("#{}", id.0), |m| m.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::model::ModelSpec;

    fn catalogue() -> ModelCatalogue {
        let m = |name: &str, tier, price| ModelSpec {
            name: String::from(name),
            tier,
            input_nano_usd_per_mtok: price,
            output_nano_usd_per_mtok: price * 4,
            max_output_tokens: 1000,
        };
        ModelCatalogue::new(vec![m("best", 3, 100), m("mid", 2, 10), m("cheap", 1, 1)])
            .expect("valid")
    }

    fn step(at: u32, action: StepAction) -> LadderStep {
        LadderStep {
            at_per_mille: at,
            action,
        }
    }

    #[test]
    fn seed_ladder_degrades_then_exhausts() {
        let cat = catalogue();
        let (best, mid, cheap) = (ModelId(0), ModelId(1), ModelId(2));
        let ladder = DegradationLadder::new(
            vec![
                step(800, StepAction::Use(mid)),
                step(950, StepAction::Use(cheap)),
                step(1000, StepAction::Exhausted),
            ],
            &cat,
        )
        .expect("valid");
        assert_eq!(ladder.choose(799, best, &cat), LadderChoice::Requested);
        assert_eq!(ladder.choose(800, best, &cat), LadderChoice::Degrade(mid));
        assert_eq!(ladder.choose(960, best, &cat), LadderChoice::Degrade(cheap));
        assert_eq!(
            ladder.choose(800, cheap, &cat),
            LadderChoice::Requested,
            "never upgrades"
        );
        assert_eq!(ladder.choose(1000, cheap, &cat), LadderChoice::Exhausted);
        assert_eq!(ladder.model_for_pressure(900, best, &cat), Some(mid));
        assert_eq!(ladder.model_for_pressure(5000, best, &cat), None);
        assert_eq!(ladder.cheaper_than(best, &cat), vec![mid, cheap]);
        assert_eq!(ladder.cheaper_than(mid, &cat), vec![cheap]);
    }

    #[test]
    fn invalid_ladders_are_refused() {
        let cat = catalogue();
        let up = DegradationLadder::new(
            vec![
                step(800, StepAction::Use(ModelId(2))),
                step(900, StepAction::Use(ModelId(1))),
            ],
            &cat,
        );
        assert!(
            matches!(up, Err(BudgetError::LadderUpgrades { index: 1, .. })),
            "{up:?}"
        );
        let flat = DegradationLadder::new(
            vec![
                step(800, StepAction::Use(ModelId(1))),
                step(800, StepAction::Use(ModelId(2))),
            ],
            &cat,
        );
        assert!(matches!(
            flat,
            Err(BudgetError::LadderNotIncreasing { index: 1, .. })
        ));
        let early = DegradationLadder::new(
            vec![
                step(800, StepAction::Exhausted),
                step(900, StepAction::Use(ModelId(2))),
            ],
            &cat,
        );
        assert_eq!(early, Err(BudgetError::ExhaustedNotLast(0)));
        let unknown = DegradationLadder::new(vec![step(800, StepAction::Use(ModelId(7)))], &cat);
        assert_eq!(unknown, Err(BudgetError::UnknownModelId(7)));
    }

    #[test]
    fn tier_dominates_price_in_the_dearness_order() {
        let mut cat = catalogue();
        let ladder = DegradationLadder::new(
            vec![
                step(800, StepAction::Use(ModelId(1))),
                step(900, StepAction::Use(ModelId(2))),
            ],
            &cat,
        )
        .expect("valid");
        cat.set_prices(ModelId(2), 1, 1_000_000).expect("known");
        // Same tier order still holds, so the ladder stays monotone by tier.
        assert!(ladder.validate(&cat).is_ok());
        let mut flipped = catalogue();
        flipped.set_prices(ModelId(1), 0, 0).expect("known");
        assert!(
            ladder.validate(&flipped).is_ok(),
            "mid is still tier 2 > cheap tier 1"
        );
    }
}
