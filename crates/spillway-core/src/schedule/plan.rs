//! Validation: a [`SchedulerConfig`] becomes a [`Plan`] (indices instead of names, derived
//! thresholds) or a [`ConfigError`].

use super::config::{Discipline, MAX_CAPACITY, MAX_CLASSES, SchedulerConfig, ShedPick, ShedStep};
use super::error::ConfigError;
use crate::time::Duration;

/// A validated configuration, in the form the hot path uses.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub names: Vec<String>,
    pub bounds: Vec<usize>,
    pub weights: Vec<u64>,
    pub deadlines: Vec<Option<Duration>>,
    pub discipline: Discipline,
    pub fair_share: bool,
    pub capacity: usize,
    /// Classes that may be dropped for a more urgent arrival, least urgent first.
    pub drop_order: Vec<usize>,
    /// Bit `c` set: class `c` is downgraded under pressure.
    pub downgrade_mask: u64,
    /// Queued requests at or above which the scheduler is under pressure.
    pub pressure_len: usize,
    pub pick: ShedPick,
}

impl Plan {
    /// Validates `config`.
    pub fn new(config: &SchedulerConfig) -> Result<Plan, ConfigError> {
        check_classes(config)?;
        let names: Vec<String> = config.classes.iter().map(|c| c.name.clone()).collect();
        if let Discipline::Aging { step } = config.discipline
            && step.is_zero()
        {
            return Err(ConfigError::ZeroAgingStep);
        }
        let capacity = capacity(config)?;
        if config.pressure_permille > 1000 {
            return Err(ConfigError::PressureOutOfRange {
                permille: config.pressure_permille,
            });
        }
        let (drop_order, downgrade_mask) = shed_steps(&names, &config.shed_order)?;
        let pressure = (capacity as u128 * u128::from(config.pressure_permille)).div_ceil(1000);
        Ok(Plan {
            bounds: config.classes.iter().map(|c| c.bound).collect(),
            weights: config.classes.iter().map(|c| c.weight).collect(),
            deadlines: config.classes.iter().map(|c| c.deadline).collect(),
            names,
            discipline: config.discipline,
            fair_share: config.tenant_fair_share,
            capacity,
            drop_order,
            downgrade_mask,
            pressure_len: usize::try_from(pressure).unwrap_or(usize::MAX),
            pick: config.shed_pick,
        })
    }
}

fn check_classes(config: &SchedulerConfig) -> Result<(), ConfigError> {
    let classes = &config.classes;
    if classes.is_empty() {
        return Err(ConfigError::NoClasses);
    }
    if classes.len() > MAX_CLASSES {
        return Err(ConfigError::TooManyClasses {
            count: classes.len(),
            max: MAX_CLASSES,
        });
    }
    for (index, class) in classes.iter().enumerate() {
        let named = || class.name.clone();
        if class.name.is_empty() {
            return Err(ConfigError::EmptyClassName { index });
        }
        if let Some(first) = classes[..index].iter().position(|c| c.name == class.name) {
            return Err(ConfigError::DuplicateClassName {
                name: named(),
                first,
                second: index,
            });
        }
        if class.bound == 0 {
            return Err(ConfigError::ZeroBound { class: named() });
        }
        if let Some(previous) = index.checked_sub(1).map(|i| &classes[i])
            && class.bound < previous.bound
        {
            return Err(ConfigError::BoundsDecrease {
                class: named(),
                bound: class.bound,
                previous: previous.name.clone(),
                previous_bound: previous.bound,
            });
        }
        if class.weight == 0 {
            return Err(ConfigError::ZeroWeight { class: named() });
        }
        if class.deadline.is_some_and(Duration::is_zero) {
            return Err(ConfigError::ZeroDeadline { class: named() });
        }
    }
    Ok(())
}

fn capacity(config: &SchedulerConfig) -> Result<usize, ConfigError> {
    let sum = config
        .classes
        .iter()
        .fold(0usize, |acc, c| acc.saturating_add(c.bound));
    let capacity = config.capacity.unwrap_or(sum);
    if capacity == 0 {
        return Err(ConfigError::ZeroCapacity);
    }
    if capacity > MAX_CAPACITY {
        return Err(ConfigError::CapacityTooLarge {
            capacity,
            max: MAX_CAPACITY,
        });
    }
    Ok(capacity)
}

/// Resolves shed steps to (drop order, downgrade mask).
fn shed_steps(names: &[String], steps: &[ShedStep]) -> Result<(Vec<usize>, u64), ConfigError> {
    let mut seen = 0u64;
    let mut drop_order = Vec::new();
    let mut downgrade_mask = 0u64;
    for step in steps {
        let (ShedStep::Drop(name) | ShedStep::Downgrade(name)) = step;
        let class =
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| ConfigError::UnknownClass {
                    name: name.clone(),
                    known: names.join(", "),
                })?;
        if seen & (1 << class) != 0 {
            return Err(ConfigError::DuplicateShedStep { name: name.clone() });
        }
        seen |= 1 << class;
        match step {
            ShedStep::Downgrade(_) => downgrade_mask |= 1 << class,
            ShedStep::Drop(_) => {
                let expected = names.len() - 1 - drop_order.len();
                if class != expected {
                    return Err(ConfigError::DropOrder {
                        position: drop_order.len(),
                        name: name.clone(),
                        expected: names[expected].clone(),
                    });
                }
                drop_order.push(class);
            }
        }
    }
    Ok((drop_order, downgrade_mask))
}
