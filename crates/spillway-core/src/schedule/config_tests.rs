//! Every [`ConfigError`] variant, from the smallest config that triggers it.

use super::*;
use crate::time::Duration;

fn build(config: &SchedulerConfig) -> Result<PriorityScheduler<()>, ConfigError> {
    PriorityScheduler::new(config)
}

fn with(edit: impl FnOnce(&mut SchedulerConfig)) -> Result<PriorityScheduler<()>, ConfigError> {
    let mut config = SchedulerConfig::default();
    edit(&mut config);
    build(&config)
}

#[test]
fn the_default_config_is_valid_and_sums_the_bounds() {
    let scheduler = build(&SchedulerConfig::default()).expect("default is valid");
    assert_eq!(scheduler.capacity(), 50 + 200 + 1000 + 5000);
    assert_eq!(scheduler.class_count(), 4);
    assert_eq!(scheduler.class_index("batch"), Some(2));
    assert_eq!(scheduler.class_name(3), Some("background"));
    assert_eq!(scheduler.bound_of(1), 200);
}

#[test]
fn no_classes_and_too_many_classes() {
    assert_eq!(
        with(|c| c.classes.clear()).err(),
        Some(ConfigError::NoClasses)
    );
    let many = with(|c| {
        c.shed_order.clear();
        c.classes = (0..=MAX_CLASSES)
            .map(|i| ClassSpec::new(&format!("c{i}"), 1, 1))
            .collect();
    });
    assert_eq!(
        many.err(),
        Some(ConfigError::TooManyClasses {
            count: MAX_CLASSES + 1,
            max: MAX_CLASSES
        })
    );
}

#[test]
fn class_names_must_be_present_and_unique() {
    assert_eq!(
        with(|c| c.classes[2].name.clear()).err(),
        Some(ConfigError::EmptyClassName { index: 2 })
    );
    assert_eq!(
        with(|c| c.classes[3].name = "standard".into()).err(),
        Some(ConfigError::DuplicateClassName {
            name: "standard".into(),
            first: 1,
            second: 3
        })
    );
}

#[test]
fn shed_steps_must_name_known_classes_once() {
    let err = with(|c| c.shed_order[0] = ShedStep::Drop("bulk".into())).err();
    assert_eq!(
        err,
        Some(ConfigError::UnknownClass {
            name: "bulk".into(),
            known: "interactive, standard, batch, background".into()
        })
    );
    let err = with(|c| c.shed_order.push(ShedStep::Downgrade("batch".into()))).err();
    assert_eq!(
        err,
        Some(ConfigError::DuplicateShedStep {
            name: "batch".into()
        })
    );
}

#[test]
fn drop_steps_start_at_the_least_urgent_class_without_gaps() {
    let err = with(|c| c.shed_order = vec![ShedStep::Drop("batch".into())]).err();
    assert_eq!(
        err,
        Some(ConfigError::DropOrder {
            position: 0,
            name: "batch".into(),
            expected: "background".into()
        })
    );
    let gap = with(|c| {
        c.shed_order = vec![
            ShedStep::Drop("background".into()),
            ShedStep::Drop("standard".into()),
        ]
    });
    assert!(matches!(
        gap,
        Err(ConfigError::DropOrder { position: 1, .. })
    ));
    // No drop steps at all is valid: a full scheduler then refuses every arrival.
    assert!(with(|c| c.shed_order.clear()).is_ok());
}

#[test]
fn bounds_must_be_positive_and_not_decrease() {
    assert_eq!(
        with(|c| c.classes[0].bound = 0).err(),
        Some(ConfigError::ZeroBound {
            class: "interactive".into()
        })
    );
    assert_eq!(
        with(|c| c.classes[2].bound = 100).err(),
        Some(ConfigError::BoundsDecrease {
            class: "batch".into(),
            bound: 100,
            previous: "standard".into(),
            previous_bound: 200
        })
    );
    // Equal bounds are fine.
    assert!(with(|c| c.classes[1].bound = 50).is_ok());
}

#[test]
fn zero_weight_deadline_and_aging_step_are_errors() {
    assert_eq!(
        with(|c| c.classes[3].weight = 0).err(),
        Some(ConfigError::ZeroWeight {
            class: "background".into()
        })
    );
    assert_eq!(
        with(|c| c.classes[0].deadline = Some(Duration::ZERO)).err(),
        Some(ConfigError::ZeroDeadline {
            class: "interactive".into()
        })
    );
    assert_eq!(
        with(|c| c.discipline = Discipline::Aging {
            step: Duration::ZERO
        })
        .err(),
        Some(ConfigError::ZeroAgingStep)
    );
}

#[test]
fn capacity_and_pressure_ranges() {
    assert_eq!(
        with(|c| c.capacity = Some(0)).err(),
        Some(ConfigError::ZeroCapacity)
    );
    assert_eq!(
        with(|c| c.capacity = Some(MAX_CAPACITY + 1)).err(),
        Some(ConfigError::CapacityTooLarge {
            capacity: MAX_CAPACITY + 1,
            max: MAX_CAPACITY
        })
    );
    assert!(matches!(
        with(|c| c.classes[3].bound = usize::MAX),
        Err(ConfigError::CapacityTooLarge { .. })
    ));
    assert_eq!(
        with(|c| c.pressure_permille = 1001).err(),
        Some(ConfigError::PressureOutOfRange { permille: 1001 })
    );
}

#[test]
fn errors_name_the_class_and_what_is_allowed() {
    let err = with(|c| c.classes[2].bound = 100).expect_err("decreasing");
    let text = err.to_string();
    assert!(
        text.contains("\"batch\"") && text.contains("must not decrease"),
        "{text}"
    );
}
