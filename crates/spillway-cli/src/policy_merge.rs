//! `compare --policy FILE`: extra policies (and the layers they need) spliced into the
//! scenario's own `policies:` and `layers:` lists as text, so the scenario parser validates
//! them like any other policy; each error is then mapped back to the policy file's own line
//! and column.
//!
//! A policy file holds a `policies:` list and optionally a `layers:` list, in the same shape
//! as a scenario's (it may also be a bare list of policies):
//!
//! ```yaml
//! layers:
//!   - { name: per-user-strict, scope: user, algorithm: sliding-window, limit: 3, per: 1m }
//! policies:
//!   - name: strict
//!     layers: [per-user-strict, per-feature]
//!     queue_capacity: 500
//!     max_attempts: 2
//! ```

use spillway_core::policy::{RawPolicy, RawPolicyFile, Reporter, top_level_keys};
use spillway_sim::scenario::ScenarioErrors;
use std::path::{Path, PathBuf};

/// The keys of a policy file that `compare` adds to the scenario; the rest of a policy file
/// (classes, money, `serve:`) is the scenario's business and would be dropped.
const MERGED_KEYS: [&str; 2] = ["policies", "layers"];

/// Where a line of the merged text came from.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    /// The scenario's own line (1-based).
    Scenario(usize),
    /// A policy file's line (1-based), shifted right by `shift` columns (may be negative).
    Extra {
        file: usize,
        line: usize,
        shift: isize,
    },
}

/// The scenario text with the extra policies spliced in.
#[derive(Debug)]
pub struct Merged {
    /// The text to parse.
    pub text: String,
    origins: Vec<Origin>,
    files: Vec<PathBuf>,
    /// (file, list key, items before the file's first one in the merged list): an error's
    /// `policies[N]` is renumbered to the file's own list.
    offsets: Vec<(usize, &'static str, usize)>,
}

/// A top-level block list: the header line and the end of its content (exclusive), 0-based.
struct Block {
    header: usize,
    end: usize,
    item_indent: usize,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

fn block(lines: &[&str], key: &str) -> Option<Block> {
    let header = lines.iter().position(|l| {
        l.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|rest| !is_content(rest) || rest.trim_start().starts_with('#'))
    })?;
    let mut end = header + 1;
    let mut last_content = header + 1;
    let top_level_key =
        |l: &str| is_content(l) && indent(l) == 0 && !l.trim_start().starts_with('-');
    while end < lines.len() && !top_level_key(lines[end]) {
        if is_content(lines[end]) {
            last_content = end + 1;
        }
        end += 1;
    }
    let item_indent = lines[header + 1..last_content]
        .iter()
        .find(|l| l.trim_start().starts_with('-'))
        .map_or(2, |l| indent(l));
    Some(Block {
        header,
        end: last_content,
        item_indent,
    })
}

/// List items (`- ` at `item_indent`) among `lines`.
fn items(lines: &[&str], item_indent: usize) -> usize {
    lines
        .iter()
        .filter(|l| indent(l) == item_indent && l.trim_start().starts_with('-'))
        .count()
}

/// Refuse, located in the policy file itself, what [`merge`] could not take whole: keys other
/// than `policies:` and `layers:`, no policies, a list written in flow style (`[...]`, which
/// the line splicer cannot move), and YAML mistakes (a tab, a duplicate key), which the
/// merged text would report at a line of the scenario.
pub fn check_file(path: &Path, text: &str) -> Result<(), ScenarioErrors> {
    let mut r = Reporter::new(path, text);
    let lines: Vec<&str> = text.lines().collect();
    let Some(first) = lines.iter().find(|l| is_content(l)) else {
        r.whole("policies", "no policies to add (an empty file)");
        return r.finish();
    };
    if first.starts_with('-') && !first.starts_with("---") {
        // A bare list of policies.
        r.parse_yaml::<Vec<RawPolicy>>(None);
        return r.finish();
    }
    if refuse_other_keys(&mut r, text) {
        // The parse below would call each an unknown field again.
        return r.finish();
    }
    let Some(raw) = r.parse_yaml::<RawPolicyFile>(Some("a policy file needs `policies`")) else {
        return Err(r.into_errors());
    };
    check_lists(&mut r, text, &raw);
    r.finish()
}

/// Record each top-level key other than [`MERGED_KEYS`]; whether there was one.
fn refuse_other_keys(r: &mut Reporter<'_>, text: &str) -> bool {
    let mut any = false;
    for (line, key) in top_level_keys(text).filter(|(_, k)| !MERGED_KEYS.contains(k)) {
        any = true;
        r.at(
            line,
            1,
            format!(
                "compare adds only `policies:` and `layers:` from a policy file; `{key}` would \
                 be ignored (write it in the scenario)"
            ),
        );
    }
    any
}

/// Record no policies, and a non-empty list [`merge`] cannot find as a block.
fn check_lists(r: &mut Reporter<'_>, text: &str, raw: &RawPolicyFile) {
    let line_of = |key: &str| {
        top_level_keys(text)
            .find(|(_, k)| *k == key)
            .map_or(1, |(l, _)| l)
    };
    if raw.policies.is_empty() {
        r.at(line_of("policies"), 1, "no policies to add");
    }
    let lines: Vec<&str> = text.lines().collect();
    for (key, has_items) in [
        ("policies", !raw.policies.is_empty()),
        ("layers", !raw.layers.is_empty()),
    ] {
        if has_items && block(&lines, key).is_none() {
            r.at(
                line_of(key),
                1,
                "write the list as a block (each `- ` item on lines of its own): compare \
                 splices it into the scenario's list",
            );
        }
    }
}

/// Splice the `policies` and `layers` of each extra file into `scenario`.
pub fn merge(scenario: &str, extras: &[(PathBuf, String)]) -> Result<Merged, String> {
    let lines: Vec<&str> = scenario.lines().collect();
    // Insertions: (after scenario line index, origin lines).
    let mut inserts: Vec<(usize, Vec<(String, Origin)>)> = Vec::new();
    let mut offsets = Vec::new();
    let mut added: Vec<(&'static str, usize)> = Vec::new();
    for (file_index, (path, text)) in extras.iter().enumerate() {
        let file_lines: Vec<&str> = text.lines().collect();
        let sections = match (block(&file_lines, "policies"), block(&file_lines, "layers")) {
            (None, None) => vec![("policies", None)],
            (p, l) => [("policies", p), ("layers", l)]
                .into_iter()
                .filter(|(_, b)| b.is_some())
                .collect(),
        };
        for (key, section) in sections {
            let target = block(&lines, key).ok_or_else(|| {
                format!(
                    "the scenario has no block list `{key}:` to add {}'s {key} to",
                    path.display()
                )
            })?;
            let (from, to, file_indent) = match &section {
                Some(b) => (b.header + 1, b.end, b.item_indent),
                None => (0, file_lines.len(), 0),
            };
            let own = items(&lines[target.header + 1..target.end], target.item_indent);
            let before: usize = added
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, n)| n)
                .sum();
            offsets.push((file_index, key, own + before));
            added.push((key, items(&file_lines[from..to], file_indent)));
            let shift = target.item_indent as isize - file_indent as isize;
            let moved = (from..to)
                .map(|i| {
                    let line = file_lines[i];
                    let text = if shift >= 0 {
                        format!("{}{line}", " ".repeat(shift as usize))
                    } else {
                        let strip = indent(line).min(shift.unsigned_abs());
                        line[strip..].to_string()
                    };
                    (
                        text,
                        Origin::Extra {
                            file: file_index,
                            line: i + 1,
                            shift,
                        },
                    )
                })
                .collect();
            inserts.push((target.end, moved));
        }
    }
    let mut text = String::new();
    let mut origins = Vec::new();
    for i in 0..=lines.len() {
        for (_, moved) in inserts.iter().filter(|(at, _)| *at == i) {
            for (line, origin) in moved {
                text.push_str(line);
                text.push('\n');
                origins.push(origin.clone());
            }
        }
        if let Some(line) = lines.get(i) {
            text.push_str(line);
            text.push('\n');
            origins.push(Origin::Scenario(i + 1));
        }
    }
    Ok(Merged {
        text,
        origins,
        files: extras.iter().map(|(p, _)| p.clone()).collect(),
        offsets,
    })
}

impl Merged {
    /// The scenario's own line (1-based) of merged line `line`; `None` for a line spliced in
    /// from a policy file.
    pub fn scenario_line(&self, line: usize) -> Option<usize> {
        match line.checked_sub(1).and_then(|i| self.origins.get(i)) {
            Some(Origin::Scenario(own)) => Some(*own),
            _ => None,
        }
    }

    /// `field` with its leading `policies[N]` / `layers[N]` counted in policy file `file`'s
    /// own list rather than the merged one.
    fn own_index(&self, file: usize, field: &str) -> String {
        for (f, key, offset) in &self.offsets {
            let Some(rest) = field.strip_prefix(key).and_then(|r| r.strip_prefix('[')) else {
                continue;
            };
            let Some((n, tail)) = rest.split_once(']') else {
                continue;
            };
            if let (true, Ok(n)) = (*f == file, n.parse::<usize>()) {
                return format!("{key}[{}]{tail}", n.saturating_sub(*offset));
            }
        }
        field.to_string()
    }

    /// Point each error at the file, line and column the user wrote.
    pub fn remap(&self, mut errors: ScenarioErrors, scenario: &Path) -> ScenarioErrors {
        for e in &mut errors.0 {
            let Some(origin) = e.line.checked_sub(1).and_then(|i| self.origins.get(i)) else {
                continue;
            };
            let (file, line, column) = match origin {
                Origin::Scenario(line) => (scenario.to_path_buf(), *line, e.column),
                Origin::Extra { file, line, shift } => (
                    self.files[*file].clone(),
                    *line,
                    e.column.saturating_add_signed(-shift).max(1),
                ),
            };
            if let Origin::Extra { file, .. } = origin {
                e.field = self.own_index(*file, &e.field);
            }
            e.message = e.message.replace(
                &format!("at line {}, column {}", e.line, e.column),
                &format!("at line {line}, column {column}"),
            );
            (e.file, e.line, e.column) = (file, line, column);
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = "layers:\n  - name: a\n    limit: 1\npolicies:\n  - name: p\n    layers: [a]\n\n# end\nseed: 1\n";

    #[test]
    fn policies_and_layers_land_in_their_lists_with_origins() {
        let extra = "layers:\n- name: b\n  limit: 2\npolicies:\n- name: q\n  layers: [b]\n";
        let merged = merge(SCENARIO, &[("x.yaml".into(), extra.into())]).expect("merges");
        assert_eq!(
            merged.text,
            "layers:\n  - name: a\n    limit: 1\n  - name: b\n    limit: 2\npolicies:\n  - name: p\n    layers: [a]\n  - name: q\n    layers: [b]\n\n# end\nseed: 1\n"
        );
        assert_eq!(
            merged.origins[3],
            Origin::Extra {
                file: 0,
                line: 2,
                shift: 2
            }
        );
        assert_eq!(merged.origins[6], Origin::Scenario(5));
    }

    #[test]
    fn errors_point_back_at_the_policy_file() {
        let extra = "- name: q\n  layers: [zz]\n";
        let merged = merge(SCENARIO, &[("x.yaml".into(), extra.into())]).expect("merges");
        let errors = ScenarioErrors(vec![spillway_sim::scenario::ScenarioError {
            file: "s.yaml".into(),
            line: 8,
            column: 14,
            field: "policies[1].layers[0]".into(),
            message: "no layer `zz` at line 8, column 14".into(),
        }]);
        let e = &merged.remap(errors, Path::new("s.yaml")).0[0];
        assert_eq!(
            (e.file.as_path(), e.line, e.column),
            (Path::new("x.yaml"), 2, 12)
        );
        assert!(e.message.ends_with("at line 2, column 12"), "{}", e.message);
        assert_eq!(
            e.field, "policies[0].layers[0]",
            "the file's own first policy"
        );
    }

    #[test]
    fn a_second_files_policies_are_numbered_in_that_file() {
        let one = "- name: q\n- name: r\n";
        let two = "policies:\n  - name: s\n    layers: [zz]\n";
        let extras = [
            ("one.yaml".into(), one.into()),
            ("two.yaml".into(), two.into()),
        ];
        let merged = merge(SCENARIO, &extras).expect("merges");
        // Merged: p (scenario), q, r (one.yaml), s (two.yaml) = policies[3].
        let line = merged
            .text
            .lines()
            .position(|l| l.contains("[zz]"))
            .expect("spliced")
            + 1;
        let errors = ScenarioErrors(vec![spillway_sim::scenario::ScenarioError {
            file: "s.yaml".into(),
            line,
            column: 14,
            field: "policies[3].layers[0]".into(),
            message: "no layer `zz`".into(),
        }]);
        let e = &merged.remap(errors, Path::new("s.yaml")).0[0];
        assert_eq!((e.file.as_path(), e.line), (Path::new("two.yaml"), 3));
        assert_eq!(e.field, "policies[0].layers[0]");
    }
}
