//! Ladder monotonicity: more spend (or pressure) never yields a dearer model, and once
//! exhausted, stays exhausted. Also through `Budget::preflight`, as spend accumulates.

use proptest::prelude::*;
use spillway_core::budget::{
    DegradationLadder, LadderChoice, LadderStep, ModelCatalogue, ModelId, ModelSpec, StepAction,
};

use crate::config;

fn catalogue() -> impl Strategy<Value = ModelCatalogue> {
    prop::collection::vec((0u8..4, 0u64..1000, 0u64..1000), 1..6).prop_map(|ms| {
        let models = ms
            .into_iter()
            .enumerate()
            .map(|(i, (tier, input, output))| ModelSpec {
                name: format!("m{i}"),
                tier,
                input_nano_usd_per_mtok: input,
                output_nano_usd_per_mtok: output,
                max_output_tokens: 100,
            })
            .collect();
        ModelCatalogue::new(models).expect("valid")
    })
}

/// A valid ladder: thresholds increasing, models in non-increasing dearness.
fn ladder_for(
    cat: &ModelCatalogue,
    picks: &[(u32, usize)],
    exhaust: Option<u32>,
) -> DegradationLadder {
    let mut by_dearness: Vec<ModelId> = cat.iter().map(|(id, _)| id).collect();
    by_dearness.sort_by_key(|id| std::cmp::Reverse(cat.get(*id).map(ModelSpec::dearness)));
    let mut picks: Vec<(u32, usize)> = picks
        .iter()
        .map(|(at, i)| (*at, i % by_dearness.len()))
        .collect();
    picks.sort_unstable();
    picks.dedup_by_key(|p| p.0);
    let mut order: Vec<usize> = picks.iter().map(|p| p.1).collect();
    order.sort_unstable();
    let mut steps: Vec<LadderStep> = picks
        .iter()
        .zip(order)
        .map(|((at, _), i)| LadderStep {
            at_per_mille: *at,
            action: StepAction::Use(by_dearness[i]),
        })
        .collect();
    let last = steps.last().map_or(0, |s| s.at_per_mille);
    if let Some(extra) = exhaust {
        steps.push(LadderStep {
            at_per_mille: last + 1 + extra,
            action: StepAction::Exhausted,
        });
    }
    DegradationLadder::new(steps, cat).expect("built valid")
}

fn model_of(choice: LadderChoice, requested: ModelId) -> Option<ModelId> {
    match choice {
        LadderChoice::Requested => Some(requested),
        LadderChoice::Degrade(m) => Some(m),
        LadderChoice::Exhausted => None,
    }
}

proptest! {
    #![proptest_config(config("ladder"))]

    #[test]
    fn more_spend_never_buys_a_dearer_model(
        cat in catalogue(),
        picks in prop::collection::vec((0u32..1500, any::<usize>()), 0..5),
        exhaust in prop::option::of(0u32..500),
        requested in any::<prop::sample::Index>(),
        levels in prop::collection::vec(0u32..2500, 2..20),
    ) {
        let ladder = ladder_for(&cat, &picks, exhaust);
        let requested = ModelId(requested.index(cat.len()) as u16);
        let mut levels = levels;
        levels.sort_unstable();
        let mut previous: Option<Option<ModelId>> = None;
        for level in levels {
            let now = model_of(ladder.choose(level, requested, &cat), requested);
            if let Some(before) = previous {
                match (before, now) {
                    (None, Some(m)) => prop_assert!(false, "exhausted, then {m:?} at {level}"),
                    (Some(b), Some(m)) => prop_assert!(!cat.is_dearer(m, b), "{m:?} dearer than {b:?} at {level}"),
                    _ => {}
                }
            }
            if let Some(m) = now {
                prop_assert!(!cat.is_dearer(m, requested), "upgraded to {m:?}");
            }
            prop_assert_eq!(ladder.model_for_pressure(level, requested, &cat), now);
            previous = Some(now);
        }
    }
}
