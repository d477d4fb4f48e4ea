//! Scheduler and class settings: every bad value is located, named and explained.

use crate::BASE;
use spillway_sim::scenario::{ScenarioError, parse};
use std::path::Path;

fn errors_of(text: &str) -> Vec<ScenarioError> {
    match parse(Path::new("bad.yaml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.0,
    }
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

/// BASE with a scheduler block on its policy.
fn with_scheduler(block: &str) -> String {
    format!("{BASE}    scheduler:\n{block}")
}

fn one_error(text: &str, needle: &str, field: &str, hint: &str) {
    let errors = errors_of(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    let shown = e.to_string();
    assert_eq!(e.line, line_of(text, needle), "{shown}");
    assert_eq!(e.field, field, "{shown}");
    assert!(shown.contains(hint), "`{shown}` should mention `{hint}`");
}

#[test]
fn valid_scheduler_blocks_load() {
    let text = with_scheduler(
        "      discipline: weighted\n      weights: { interactive: 5, batch: 1, background: 0.1 }\n      bounds: { interactive: 50, standard: 200, batch: 1000, background: 5000 }\n      shed_order: [background, batch, downgrade-standard]\n      shed: oldest\n",
    );
    let s = parse(Path::new("ok.yaml"), &text).expect("valid");
    assert_eq!(s.policies[0].scheduler.classes[3].weight, 100);
    assert_eq!(s.policies[0].scheduler.classes[0].bound, 50);
}

#[test]
fn an_unknown_discipline_lists_the_disciplines() {
    let text = with_scheduler("      discipline: fifo\n");
    one_error(
        &text,
        "fifo",
        "policies[0].scheduler.discipline",
        "`strict`, `aging` or `weighted`",
    );
}

#[test]
fn an_unknown_class_name_in_bounds_names_the_classes() {
    let text = with_scheduler("      bounds: { urgent: 5 }\n");
    let errors = errors_of(&text);
    let shown = errors[0].to_string();
    assert!(
        shown.contains("urgent") && shown.contains("interactive"),
        "{shown}"
    );
    assert_eq!(errors[0].line, line_of(&text, "urgent"));
}

#[test]
fn an_unknown_class_in_the_classes_block_is_an_error() {
    let text = format!("{BASE}classes:\n  vip: {{ slo: 1s }}\n");
    let errors = errors_of(&text);
    let shown = errors[0].to_string();
    assert!(
        shown.contains("vip") && shown.contains("interactive"),
        "{shown}"
    );
}

#[test]
fn non_monotone_bounds_are_refused() {
    let text = with_scheduler("      bounds: { interactive: 50, standard: 200, batch: 100 }\n");
    one_error(
        &text,
        "batch: 100",
        "policies[0].scheduler.bounds.batch",
        "must not decrease",
    );
}

#[test]
fn zero_weights_are_refused() {
    let text = with_scheduler("      discipline: weighted\n      weights: { batch: 0 }\n");
    one_error(
        &text,
        "batch: 0",
        "policies[0].scheduler.weights.batch",
        "starve",
    );
}

#[test]
fn zero_deadlines_are_refused() {
    let text = format!("{BASE}classes:\n  interactive: {{ deadline: 0s }}\n");
    one_error(
        &text,
        "deadline: 0s",
        "classes.interactive.deadline",
        "longer than 0",
    );
}

#[test]
fn aging_needs_a_step_and_a_step_needs_aging() {
    let text = with_scheduler("      discipline: aging\n");
    one_error(
        &text,
        "aging",
        "policies[0].scheduler.discipline",
        "aging_step",
    );
    let text = with_scheduler("      aging_step: 60s\n");
    one_error(
        &text,
        "aging_step",
        "policies[0].scheduler.aging_step",
        "only to `discipline: aging`",
    );
}

#[test]
fn drop_steps_out_of_order_are_refused_with_the_reason() {
    let text = with_scheduler("      shed_order: [batch, background]\n");
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].to_string().contains("least urgent"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[0].line, line_of(&text, "shed_order"));
}

#[test]
fn an_unknown_shed_step_lists_the_forms() {
    let text = with_scheduler("      shed_order: [everything]\n");
    let errors = errors_of(&text);
    assert!(
        errors[0].to_string().contains("downgrade-<class>"),
        "{}",
        errors[0]
    );
}
