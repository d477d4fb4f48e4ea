//! Every malformed scenario gets a located, named, explained error, and none panics.

use crate::BASE;
use proptest::prelude::*;
use spillway_sim::scenario::{ScenarioError, parse};
use std::path::Path;

fn errors_of(text: &str) -> Vec<ScenarioError> {
    match parse(Path::new("bad.yaml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.0,
    }
}

/// The single error, checked for place, field and a hint of what is allowed.
fn one_error(text: &str, line: usize, field: &str, hint: &str) {
    let errors = errors_of(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    let shown = e.to_string();
    assert_eq!(e.line, line, "{shown}");
    assert_eq!(e.field, field, "{shown}");
    assert!(shown.contains(hint), "`{shown}` should mention `{hint}`");
    assert!(shown.starts_with(&format!("bad.yaml:{line}:")), "{shown}");
}

#[test]
fn the_base_scenario_is_valid() {
    let s = parse(Path::new("base.yaml"), BASE).expect("valid");
    assert_eq!(s.name, "base");
    assert_eq!(s.policies[0].layers[0].name, "per-user");
}

#[test]
fn a_syntax_error_is_located() {
    let text = BASE.replace("  rpm: 60", "  rpm: [60");
    let errors = errors_of(&text);
    assert!(errors[0].line >= 5, "{}", errors[0]);
}

#[test]
fn an_unknown_field_names_the_allowed_ones() {
    one_error(
        &BASE.replace("  rpm: 60", "  rpm: 60\n  rmp: 61"),
        6,
        "provider.rmp",
        "expected one of",
    );
}

#[test]
fn a_wrong_type_is_located_with_its_field() {
    one_error(
        &BASE.replace("rpm: 60", "rpm: fast"),
        5,
        "provider.rpm",
        "`fast` is not allowed here; expected a whole number",
    );
}

#[test]
fn zero_and_negative_rates_are_refused() {
    one_error(
        &BASE.replace("rate: 6/min", "rate: 0/min"),
        16,
        "traffic.groups[0].arrival.poisson.rate",
        "greater than 0",
    );
    one_error(
        &BASE.replace("rate: 6/min", "rate: -2/min"),
        16,
        "traffic.groups[0].arrival.poisson.rate",
        "greater than 0",
    );
    one_error(
        &BASE.replace("rpm: 60", "rpm: 0"),
        5,
        "provider.rpm",
        "greater than 0",
    );
    one_error(
        &BASE.replace("limit: 3", "limit: 0"),
        23,
        "layers[0].limit",
        "greater than 0",
    );
}

#[test]
fn compound_durations_are_accepted_where_a_duration_is_read() {
    let s = parse(
        Path::new("c.yaml"),
        &BASE.replace("duration: 30s", "duration: 9h15m"),
    )
    .expect("valid");
    assert_eq!(
        s.duration,
        spillway_core::Duration::from_secs(9 * 3600 + 15 * 60)
    );
    let s = parse(
        Path::new("c.yaml"),
        &BASE.replace("duration: 30s", "duration: 1h 30m"),
    )
    .expect("valid");
    assert_eq!(s.duration, spillway_core::Duration::from_secs(5400));
    one_error(
        &BASE.replace("duration: 30s", "duration: 9h15"),
        2,
        "duration",
        "missing unit",
    );
}

#[test]
fn a_token_max_below_its_median_is_refused() {
    one_error(
        &BASE.replace(
            "input_tokens: { median: 100, sigma: 0.5, max: 1000 }",
            "input_tokens: { median: 100, sigma: 0.5, max: 50 }",
        ),
        17,
        "traffic.groups[0].input_tokens.max",
        "at least the median",
    );
}

#[test]
fn a_spike_after_traffic_ends_is_refused_at_its_start() {
    let with_spike = |start: &str| {
        BASE.replace(
            "layers:\n",
            &format!(
                "  spikes:\n    - {{ start: {start}, duration: 5s, multiplier: 3 }}\nlayers:\n"
            ),
        )
    };
    one_error(
        &with_spike("40s"),
        20,
        "traffic.spikes[0].start",
        "traffic ends at 30s",
    );
    parse(Path::new("ok.yaml"), &with_spike("20s")).expect("a spike inside the run is valid");
}

#[test]
fn an_unknown_duration_unit_lists_the_units() {
    one_error(
        &BASE.replace("duration: 30s", "duration: 30 fortnights"),
        2,
        "duration",
        "ms",
    );
    one_error(
        &BASE.replace("per: 1m", "per: 1y"),
        24,
        "layers[0].per",
        "unknown unit",
    );
}

#[test]
fn a_policy_naming_a_missing_layer_lists_the_layers() {
    one_error(
        &BASE.replace("layers: [per-user]", "layers: [per-usr]"),
        27,
        "policies[0].layers[0]",
        "layers are: per-user",
    );
}

#[test]
fn a_cost_above_a_layers_capacity_is_refused_before_running() {
    let text = BASE.replace("    limit: 3\n", "    unit: tokens\n    limit: 1000\n");
    one_error(
        &text,
        28,
        "policies[0].layers[0]",
        "could never be admitted",
    );
}

#[test]
fn an_unknown_class_lists_the_classes() {
    one_error(
        &BASE.replace("class: interactive", "class: vip"),
        14,
        "traffic.groups[0].class",
        "interactive",
    );
}

#[test]
fn every_error_in_a_file_is_reported_at_once() {
    let text = BASE
        .replace("rpm: 60", "rpm: 0")
        .replace("class: interactive", "class: vip")
        .replace("per: 1m", "per: 1y");
    assert_eq!(errors_of(&text).len(), 3);
}

#[test]
fn every_type_error_is_reported_not_only_the_first() {
    let text = BASE
        .replace("rpm: 60", "rpm: five")
        .replace("users: 20", "users: 1200.5")
        .replace("limit: 3\n", "limit: -3\n");
    let errors = errors_of(&text);
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["provider.rpm", "traffic.groups[0].users", "layers[0].limit"],
        "{errors:?}"
    );
    assert!(errors[1].to_string().contains("`1200.5`"), "{}", errors[1]);
}

#[test]
fn a_duplicate_key_is_an_error() {
    let errors = errors_of(&BASE.replace("seed: 1\n", "seed: 1\nseed: 2\n"));
    assert_eq!(errors[0].line, 2, "{}", errors[0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Corrupting any byte range of a valid scenario yields a scenario or errors, never a panic.
    #[test]
    fn mutated_scenarios_never_panic(start in 0usize..BASE.len(), len in 0usize..12, junk in "[ -~\n]{0,12}") {
        let mut text = BASE.as_bytes().to_vec();
        let end = (start + len).min(text.len());
        text.splice(start..end, junk.bytes());
        let text = String::from_utf8_lossy(&text);
        if let Err(errors) = parse(Path::new("m.yaml"), &text) {
            prop_assert!(!errors.0.is_empty());
            for e in &errors.0 {
                prop_assert!(!e.message.is_empty());
            }
        }
    }
}

/// Bounded work (issue 16): inputs that validate as numbers but could never finish are refused
/// by validation, at `duration`, with the estimate and the bound; none of them hangs.
#[test]
fn runaway_work_is_refused_with_the_estimate_and_the_bound() {
    let rate = BASE.replace("rate: 6/min", "rate: 1e12/s");
    let sessions = BASE.replace(
        "poisson: { rate: 6/min }",
        "on_off: { rate: 1/s, mean_on: 1ns, mean_off: 1ns }",
    );
    let spike = BASE.replace(
        "      output_tokens: { median: 50, sigma: 0.5, max: 500 }\n",
        "      output_tokens: { median: 50, sigma: 0.5, max: 500 }\n  spikes:\n    - { start: 1s, duration: 10s, multiplier: 1e9 }\n",
    );
    for text in [rate, sessions, spike] {
        let errors = errors_of(&text);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let shown = errors[0].to_string();
        assert_eq!(errors[0].line, 2, "{shown}");
        assert_eq!(errors[0].field, "duration", "{shown}");
        assert!(
            shown.contains("traffic events") && shown.contains("--max-events"),
            "{shown}"
        );
        assert!(shown.contains("2000000000"), "{shown}");
    }
    // A century of traffic: its time series coarsens to daily rows (36,501 a policy, under
    // the row bound), but its 6.3e9 arrivals are over the event bound.
    let errors = errors_of(&BASE.replace("duration: 30s", "duration: 36500d"));
    let shown = errors[0].to_string();
    assert_eq!((errors.len(), errors[0].line), (1, 2), "{shown}");
    assert!(
        shown.contains("traffic events") && !shown.contains("timeseries.csv"),
        "{shown}"
    );
}
