//! Help texts say what the commands do: the file kinds `validate` and `serve` read, and which
//! commands the global work bounds apply to (they show on every command).

use crate::{spillway_ok, text};

#[test]
fn summaries_name_policy_files_and_the_bounds_name_their_commands() {
    let top = text(&spillway_ok(&["--help"]).stdout);
    let line = |command: &str| {
        top.lines()
            .find(|l| l.trim_start().starts_with(command))
            .unwrap_or_else(|| panic!("no `{command}` in {top}"))
            .to_string()
    };
    assert!(line("validate ").contains("policy file"), "{top}");
    assert!(line("serve ").contains("policy file"), "{top}");
    let report = text(&spillway_ok(&["report", "--help"]).stdout);
    for flag in ["--max-events", "--max-rows"] {
        let help = report
            .split(flag)
            .nth(1)
            .unwrap_or_else(|| panic!("{flag} in {report}"));
        let help = help.split("--").next().unwrap_or(help);
        assert!(help.contains("other commands ignore it"), "{flag}: {help}");
    }
}
