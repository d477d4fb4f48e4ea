//! What kind of YAML file a user named (scenario, policy file, provider library, model
//! catalogue), from its top-level keys: `serve --policy`, `validate` and every other reader
//! decide the same way.
//!
//! Why lines first: a file with a YAML mistake (a duplicate key at any depth, an unclosed `[`)
//! must still be recognised, so that its errors come from the loader of its kind (a scenario's
//! "written twice", not a policy file's "unknown field `name`"). Why a parse when the lines say
//! nothing: a key the lines cannot see (JSON, which is YAML: `{"models": [...]}`; a quoted key
//! `"models":`) still names the kind, and a loader refusing a file "of the wrong kind" must
//! only refuse what no YAML reading makes one.

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The kinds of file, from the top-level keys: libraries have one list key (`profiles:` or
/// `models:`) that no scenario has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `provider:` or `traffic:`, or nothing that says otherwise.
    Scenario,
    /// `policies:` without `provider:` or `traffic:`.
    PolicyFile,
    /// `profiles:`.
    ProviderLibrary,
    /// `models:` holding a list (a scenario's `models:` names a file).
    ModelCatalogue,
}

/// `(line, key)` of each top-level mapping key (1-based lines), in file order: what a reader
/// that takes only some keys checks the others against.
pub fn top_level_keys(text: &str) -> impl Iterator<Item = (usize, &str)> {
    top_level(text).map(|(line, key, _)| (line, key))
}

/// `(line, key, value)` of each top-level mapping line: not indented, not a comment, list item
/// or document marker; the value without a trailing `# comment`.
fn top_level(text: &str) -> impl Iterator<Item = (usize, &str, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with([' ', '\t', '#', '-', '.']) && !l.is_empty())
        .filter_map(|(i, l)| l.split_once(':').map(|(key, value)| (i + 1, key, value)))
        .map(|(line, key, value)| (line, key.trim_end(), strip_comment(value).trim()))
}

/// `value` up to a `#` that starts a comment (at the start or after a space).
fn strip_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    let start = (0..bytes.len()).find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1] == b' '));
    start.map_or(value, |i| &value[..i])
}

fn has(text: &str, key: &str) -> bool {
    top_level_keys(text).any(|(_, k)| k == key)
}

/// Whether `text` is a scenario (it has `provider:` or `traffic:`), which a server loads
/// through the simulator's scenario rules; anything else is read as a policy file, whose
/// errors then say what is wrong.
pub fn is_scenario(text: &str) -> bool {
    has(text, "provider") || has(text, "traffic")
}

/// The kind of `text` (see [`FileKind`]): from its lines, else from its parsed top-level keys,
/// else a scenario.
pub fn kind_of(text: &str) -> FileKind {
    kind_from_lines(text)
        .or_else(|| kind_from_parse(text))
        .unwrap_or(FileKind::Scenario)
}

/// The kind the top-level lines name, if any.
fn kind_from_lines(text: &str) -> Option<FileKind> {
    if has(text, "policies") && !is_scenario(text) {
        return Some(FileKind::PolicyFile);
    }
    for (_, key, value) in top_level(text) {
        if key == "profiles" {
            return Some(FileKind::ProviderLibrary);
        }
        // A catalogue's `models:` holds a list; a scenario's names a file (`models: x.yaml`).
        if key == "models" && (value.is_empty() || value.starts_with('[')) {
            return Some(FileKind::ModelCatalogue);
        }
    }
    is_scenario(text).then_some(FileKind::Scenario)
}

/// The top-level keys that decide a kind, as a YAML parse sees them (any other key ignored).
#[derive(Deserialize)]
struct TopLevel {
    provider: Option<IgnoredAny>,
    traffic: Option<IgnoredAny>,
    policies: Option<IgnoredAny>,
    profiles: Option<IgnoredAny>,
    models: Option<ListOrNot>,
}

/// Whether a value is a list (a catalogue's `models:`) or anything else (a scenario's file name).
#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)] // only which variant matched is read
enum ListOrNot {
    List(Vec<IgnoredAny>),
    Other(IgnoredAny),
}

/// The kind the parsed top-level keys name, by the same rules as [`kind_from_lines`]; `None`
/// for a file that is not a YAML mapping (a key file), whose parse error is never shown.
fn kind_from_parse(text: &str) -> Option<FileKind> {
    let top: TopLevel = serde_saphyr::from_str(text).ok()?;
    let scenario = top.provider.is_some() || top.traffic.is_some();
    if top.policies.is_some() && !scenario {
        Some(FileKind::PolicyFile)
    } else if top.profiles.is_some() {
        Some(FileKind::ProviderLibrary)
    } else if matches!(top.models, Some(ListOrNot::List(_))) {
        Some(FileKind::ModelCatalogue)
    } else {
        scenario.then_some(FileKind::Scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_are_recognised_by_their_top_level_key() {
        assert_eq!(
            kind_of("# x\ndescription: d\nprofiles:\n  - name: a\n"),
            FileKind::ProviderLibrary
        );
        assert_eq!(
            kind_of("name: s\nprovider:\n  profile: a\n"),
            FileKind::Scenario
        );
        assert_eq!(
            kind_of("models:\n  - name: gpt-4o\n"),
            FileKind::ModelCatalogue
        );
        assert_eq!(
            kind_of("models:   # the catalogue\n  - name: gpt-4o\n"),
            FileKind::ModelCatalogue,
            "a comment after the key"
        );
        assert_eq!(
            kind_of("layers: []\npolicies:\n  - name: p\n"),
            FileKind::PolicyFile
        );
        assert_eq!(
            kind_of("provider:\n  rpm: 1\npolicies:\n  - name: p\n"),
            FileKind::Scenario,
            "a scenario has policies too"
        );
        assert_eq!(
            kind_of("name: s\nmodels: models.yaml # next to it\n"),
            FileKind::Scenario,
            "a scenario naming its catalogue is still a scenario"
        );
    }

    #[test]
    fn json_and_quoted_keys_are_recognised_by_a_parse() {
        let catalogue = r#"{"models": [{"name": "gpt-4o"}]}"#;
        assert_eq!(kind_of(catalogue), FileKind::ModelCatalogue);
        let pretty = "{\n  \"profiles\": [\n    {\"name\": \"a\"}\n  ]\n}\n";
        assert_eq!(kind_of(pretty), FileKind::ProviderLibrary);
        assert_eq!(
            kind_of("\"models\":\n  - name: gpt-4o\n"),
            FileKind::ModelCatalogue,
            "a quoted block key"
        );
        assert_eq!(
            kind_of(r#"{"name": "s", "models": "models.yaml"}"#),
            FileKind::Scenario,
            "a scenario naming its catalogue, in JSON"
        );
        assert_eq!(kind_of("sk-proj-SECRET\n"), FileKind::Scenario, "not YAML");
    }

    #[test]
    fn a_yaml_mistake_does_not_hide_what_the_file_is() {
        assert!(is_scenario("seed: 1\nseed: 2\nprovider:\n  rpm: [1\n"));
        assert!(!is_scenario("policies:\n  - name: p\nproviders: x\n"));
        assert!(!is_scenario("# provider: a comment\npolicies: []\n"));
    }
}
