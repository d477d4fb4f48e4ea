//! A required field left out is reported at the mapping that lacks it (its path, its first key
//! or `{`), in every kind of file: not at the mapping's last key, where serde-saphyr puts it
//! (`keys[0].role: missing field `expires`` sent users looking for a problem in `role`).

use crate::BASE;
use crate::provider_profiles::temp_dir;
use spillway_core::policy::{self, field_path_at};
use spillway_sim::scenario::{parse, provider::load_library};
use std::path::Path;

/// Every error of scenario `text` (named `bad.yaml`), as printed.
fn scenario_errors(text: &str) -> Vec<String> {
    match parse(Path::new("bad.yaml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_scenario_group_or_layer_without_a_required_field_is_named_as_a_whole() {
    // The group's last key is a flow mapping (`output_tokens`): the error is not in it.
    let text = BASE.replace("      class: interactive\n", "");
    assert_eq!(
        scenario_errors(&text),
        ["bad.yaml:12:7: traffic.groups[0]: missing field `class`"]
    );
    let text = BASE.replace("    limit: 3\n", "");
    assert_eq!(
        scenario_errors(&text),
        ["bad.yaml:20:5: layers[0]: missing field `limit`"]
    );
}

#[test]
fn a_key_without_expires_is_named_at_the_entry_block_or_flow() {
    let block = format!(
        "{BASE}keys:\n  - name: k\n    environment: e\n    service: s\n    role: primary\n"
    );
    assert_eq!(
        scenario_errors(&block),
        ["bad.yaml:29:5: keys[0]: missing field `expires`"]
    );
    let flow = format!(
        "{BASE}keys:\n  - {{ name: k, environment: e, service: s, role: primary, expires: 1h }}\n  - {{ name: j, environment: e, service: s, role: primary }}\n"
    );
    assert_eq!(
        scenario_errors(&flow),
        ["bad.yaml:30:5: keys[1]: missing field `expires`"]
    );
}

#[test]
fn a_field_missing_two_levels_down_names_the_inner_mapping() {
    let text = BASE.replace(
        "    layers: [per-user]\n",
        "    layers: [per-user]\n    budget:\n      model: m\n      caps:\n        - name: daily\n          scope: global\n          period: day\n",
    );
    assert_eq!(
        scenario_errors(&text),
        ["bad.yaml:31:11: policies[0].budget.caps[0]: missing field `limit_usd`"]
    );
}

/// Dropping any one `key: value` line of the base scenario: when that makes a required field
/// missing, the error names the mapping the line was in (the line's path without its key),
/// at or above the line.
#[test]
fn any_required_line_dropped_is_reported_at_its_mapping() {
    let lines: Vec<&str> = BASE.lines().collect();
    let mut required = 0;
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some((key, _)) = trimmed.split_once(':') else {
            continue;
        };
        if trimmed.starts_with('-') {
            continue;
        }
        let text: String = lines
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let Err(errors) = parse(Path::new("bad.yaml"), &text) else {
            continue;
        };
        let e = &errors.0[0];
        if e.message != format!("missing field `{key}`") {
            continue;
        }
        required += 1;
        let column = line.len() - trimmed.len() + 1;
        let own = field_path_at(BASE, i + 1, column);
        let mapping = own
            .strip_suffix(key)
            .map(|p| p.trim_end_matches('.'))
            .expect("the line's path ends with its key");
        assert_eq!(e.field, mapping, "dropping line {}: {e}", i + 1);
        assert!(e.line <= i + 1, "dropping line {}: {e}", i + 1);
    }
    assert!(required >= 5, "only {required} required fields found");
}

#[test]
fn a_policy_file_names_the_entry_that_lacks_a_field() {
    let path = Path::new("gateway.yaml");
    let text = "layers:\n  - { name: a, scope: user, algorithm: token-bucket, per: 1s }\n\
                policies:\n  - name: p\n    max_in_flight: 2\n    layers: [a]\n\
                keys:\n  - name: up\n    environment: production\n    service: chat\n    role: primary\n";
    let errors = policy::parse(path, text).expect_err("no limit").to_string();
    assert_eq!(errors, "gateway.yaml:2:5: layers[0]: missing field `limit`");
    let text = text.replace("algorithm", "limit: 5, algorithm");
    let errors = policy::parse(path, &text)
        .expect_err("no expires")
        .to_string();
    assert_eq!(errors, "gateway.yaml:8:5: keys[0]: missing field `expires`");
}

#[test]
fn a_provider_library_names_the_outage_that_lacks_a_duration() {
    let dir = temp_dir("missing-field-lib");
    let file = dir.join("lib.yaml");
    let lib = "profiles:\n  - name: x\n    kind: openai\n    rpm: 5\n    outages:\n      - start: 1m\n        status: 429\n";
    std::fs::write(&file, lib).expect("write");
    let errors = load_library(&file).expect_err("no duration");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(errors.0.len(), 1, "{errors}");
    let e = &errors.0[0];
    assert_eq!(
        (e.line, e.column, e.field.as_str(), e.message.as_str()),
        (6, 9, "profiles[0].outages[0]", "missing field `duration`")
    );
}
