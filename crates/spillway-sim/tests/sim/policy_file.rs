//! A scenario's policy blocks and a policy file are the same text: `spillway_core::policy`
//! builds the same policies and budget setup from both, with the same errors.

use crate::workspace;
use spillway_core::policy::{self, LocatedError};
use spillway_sim::scenario::parse;

/// The top-level blocks a policy file may hold.
const POLICY_BLOCKS: [&str; 6] = [
    "starts_at_utc",
    "models",
    "layers",
    "keys",
    "events",
    "policies",
];

/// `scenarios/budget.yaml`, each policy given `max_in_flight` (a policy file has no provider
/// to default it to), with `edit` applied.
fn scenario_text(edit: &dyn Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(workspace().join("scenarios/budget.yaml")).expect("read");
    edit(text.replace(
        "    queue_capacity: 5000\n",
        "    queue_capacity: 5000\n    max_in_flight: 40\n",
    ))
}

/// The policy blocks of a scenario text, alone.
fn policy_file_text(scenario: &str) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in scenario.lines() {
        let top = line.split(':').next().unwrap_or("");
        if !line.starts_with([' ', '#', '-']) && !line.is_empty() {
            keep = POLICY_BLOCKS.contains(&top);
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn beside_models(name: &str) -> std::path::PathBuf {
    workspace().join("scenarios").join(name)
}

#[test]
fn a_policy_file_builds_what_the_scenario_builds() {
    let text = scenario_text(&|t| t);
    let scenario = parse(&beside_models("test-budget.yaml"), &text).expect("valid scenario");
    let file_text = policy_file_text(&text);
    assert!(!file_text.contains("traffic:") && file_text.contains("policies:"));
    let file = policy::parse(&beside_models("test-policy.yaml"), &file_text)
        .unwrap_or_else(|e| panic!("valid policy file:\n{e}"));
    assert_eq!(file.policies.len(), 3);
    assert_eq!(
        format!("{:?}", file.policies),
        format!("{:?}", scenario.policies)
    );
    assert_eq!(
        format!("{:?}", file.budget),
        format!("{:?}", scenario.budget)
    );
    assert!(file.policy("degrade").is_some_and(|p| p.budget.is_some()));
}

/// (field, message) of each error: the line numbers differ between the two files.
fn fields_and_messages(errors: Vec<LocatedError>) -> Vec<(String, String)> {
    errors.into_iter().map(|e| (e.field, e.message)).collect()
}

#[test]
fn the_same_mistakes_give_the_same_errors() {
    let text = scenario_text(&|t| {
        t.replace("limit: 3000", "limit: 0")
            .replace("ladder: anthropic", "ladder: nope")
            .replace("on_exhausted: queue", "on_exhausted: later")
    });
    let in_scenario = parse(&beside_models("test-budget.yaml"), &text).expect_err("invalid");
    let in_file = policy::parse(&beside_models("test-policy.yaml"), &policy_file_text(&text))
        .expect_err("invalid");
    let (a, b) = (
        fields_and_messages(in_scenario.0),
        fields_and_messages(in_file.0),
    );
    assert_eq!(a.len(), 3, "{a:?}");
    assert_eq!(a, b);
    assert!(
        a.iter()
            .any(|(f, m)| f == "layers[0].limit" && m.contains("greater than 0"))
    );
    assert!(
        a.iter()
            .any(|(f, m)| f == "policies[1].budget.ladder" && m.contains("`nope`"))
    );
}

#[test]
fn a_policy_file_says_what_it_lacks_and_what_it_cannot_hold() {
    let path = beside_models("test-policy.yaml");
    let no_limit = "policies:\n  - name: p\n    layers: []\n";
    let errors = policy::parse(&path, no_limit)
        .expect_err("no max_in_flight")
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].line, errors[0].field.as_str()),
        (2, "policies[0].name")
    );
    assert!(errors[0].message.contains("`max_in_flight` is required"));
    let traffic = "policies:\n  - name: p\n    max_in_flight: 4\ntraffic: {}\n";
    let errors = policy::parse(&path, traffic)
        .expect_err("traffic is not policy")
        .0;
    assert_eq!(errors[0].line, 4, "{errors:?}");
    assert!(errors[0].message.contains("traffic"), "{errors:?}");
    let empty = policy::parse(&path, "# nothing\n").expect_err("empty").0;
    assert!(
        empty[0]
            .message
            .contains("a policy file needs at least `policies`")
    );
    let missing = policy::load(&beside_models("no-such-policy.yaml"))
        .expect_err("missing")
        .0;
    assert!(
        missing[0]
            .to_string()
            .contains("cannot read the policy file")
    );
}

#[test]
fn a_policy_that_cannot_be_built_is_a_located_error() {
    let path = beside_models("test-policy.yaml");
    let text = "layers:\n  - { name: a, scope: user, algorithm: token-bucket, limit: 5, per: 1s }\n\
                policies:\n  - name: p\n    max_in_flight: 2\n    layers: [a, a]\n";
    let errors = policy::parse(&path, text).expect_err("a layer twice").0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].line, errors[0].field.as_str()),
        (6, "policies[0].layers[1]")
    );
    assert!(
        errors[0].message.contains("layer `a` is listed twice"),
        "{errors:?}"
    );
    // A cap named like a key's budget: the ledger could not hold both.
    let text = scenario_text(&|t| {
        t.replacen(
            "name: daily",
            "name: \"key:production/gateway/secondary\"",
            1,
        )
    });
    let errors = parse(&beside_models("test-budget.yaml"), &text)
        .expect_err("cap name taken")
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "policies[0].budget.caps[0].name");
    assert!(
        errors[0]
            .message
            .contains("is the name of an API key's budget"),
        "{errors:?}"
    );
    // More caps than the ledger holds: at the first cap over, counting the keys' budgets.
    let many: String = (0..65)
        .map(|i| format!("        - {{ name: c{i}, scope: user, period: day, limit_usd: 5 }}\n"))
        .collect();
    let text = scenario_text(&|t| {
        let first = "        - { name: daily,";
        let at = t.find(first).expect("a cap");
        format!("{}{many}{}", &t[..at], &t[at..])
    });
    let errors = parse(&beside_models("test-budget.yaml"), &text)
        .expect_err("too many caps")
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "policies[0].budget.caps[64].name");
    assert!(errors[0].message.contains("at most 64 caps"), "{errors:?}");
    // 64 caps: the one key budget overflows the ledger, said at the last cap, in the singular.
    let text = scenario_text(&|t| {
        let first = "        - { name: daily,";
        let at = t.find(first).expect("a cap");
        let many: String = many.lines().skip(2).map(|l| format!("{l}\n")).collect();
        format!("{}{many}{}", &t[..at], &t[at..])
    });
    let errors = parse(&beside_models("test-budget.yaml"), &text)
        .expect_err("too many caps with the key's budget")
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "policies[0].budget.caps[63].name");
    assert!(
        errors[0].message.starts_with(
            "64 caps here and 1 API-key budget share one ledger of at most 64 caps (65 in all)"
        ),
        "{errors:?}"
    );
}
