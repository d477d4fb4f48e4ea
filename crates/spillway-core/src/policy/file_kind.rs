//! What kind of YAML file a user named (scenario, policy file, provider library, model
//! catalogue), from its top-level keys: `serve --policy`, `validate` and every other reader
//! decide the same way.
//!
//! Why lines first: a file with a YAML mistake (a duplicate key at any depth, an unclosed `[`)
//! must still be recognised, so that its errors come from the loader of its kind (a scenario's
//! "written twice", not a policy file's "unknown field `name`"). Why a parse when the lines say
//! nothing: a key the lines cannot see (JSON, which is YAML: `{"models": [...]}`; a quoted key
//! `"models":`) still names the kind, and a loader refusing a file "of the wrong kind" must
//! only refuse what no YAML reading makes one. Why a JSON scan when the parse fails: a JSON
//! file with a mistake (a missing `}`) must be recognised too, as YAML is by its lines, so that
//! its loader reports the mistake, located, instead of "not a model catalogue".

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

/// Whether `text` is a scenario (its top-level keys have `provider` or `traffic`, in YAML or
/// JSON), which a server loads through the simulator's scenario rules; anything else is read
/// as a policy file, whose errors then say what is wrong.
pub fn is_scenario(text: &str) -> bool {
    named_kind(text) == Some(FileKind::Scenario)
}

/// The kind of `text` (see [`FileKind`]): what its top-level keys name, else a scenario.
pub fn kind_of(text: &str) -> FileKind {
    named_kind(text).unwrap_or(FileKind::Scenario)
}

/// The kind the top-level keys name: from the lines, else a parse, else a JSON scan.
fn named_kind(text: &str) -> Option<FileKind> {
    kind_from_lines(text)
        .or_else(|| kind_from_parse(text))
        .or_else(|| kind_from_json_scan(text))
}

/// The kind the top-level lines name, if any.
fn kind_from_lines(text: &str) -> Option<FileKind> {
    let mut seen = Seen::default();
    for (_, key, value) in top_level(text) {
        // A catalogue's `models:` holds a list (a block below, or `[…]`); a scenario's names a
        // file (`models: x.yaml`).
        seen.note(key, value.is_empty() || value.starts_with('['));
    }
    seen.kind()
}

/// The top-level keys that decide a kind, as a parse or a JSON scan found them.
#[derive(Default)]
struct Seen {
    scenario: bool,
    policies: bool,
    profiles: bool,
    models_list: bool,
}

impl Seen {
    /// Notes a top-level `key` whose value is (`list`) or is not a list.
    fn note(&mut self, key: &str, list: bool) {
        match key {
            "provider" | "traffic" => self.scenario = true,
            "policies" => self.policies = true,
            "profiles" => self.profiles = true,
            "models" => self.models_list |= list,
            _ => {}
        }
    }

    /// The kind these keys name (whether read from lines, a parse or a JSON scan).
    fn kind(&self) -> Option<FileKind> {
        if self.policies && !self.scenario {
            Some(FileKind::PolicyFile)
        } else if self.profiles {
            Some(FileKind::ProviderLibrary)
        } else if self.models_list {
            Some(FileKind::ModelCatalogue)
        } else {
            self.scenario.then_some(FileKind::Scenario)
        }
    }
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

/// The kind the parsed top-level keys name ([`Seen::kind`]); `None`
/// for a file that is not a YAML mapping (a key file), whose parse error is never shown.
fn kind_from_parse(text: &str) -> Option<FileKind> {
    let top: TopLevel = serde_saphyr::from_str(text).ok()?;
    Seen {
        scenario: top.provider.is_some() || top.traffic.is_some(),
        policies: top.policies.is_some(),
        profiles: top.profiles.is_some(),
        models_list: matches!(top.models, Some(ListOrNot::List(_))),
    }
    .kind()
}

/// The kind the keys of a JSON object name, read token by token so that a mistake after them
/// (a missing `}`, a stray comma) does not hide them; `None` for text that is no JSON object.
fn kind_from_json_scan(text: &str) -> Option<FileKind> {
    let mut seen = Seen::default();
    for (key, value) in json_top_level(text)? {
        seen.note(&key, value == Some(b'['));
    }
    seen.kind()
}

/// Each key of the outermost JSON object with the first byte of its value, for text that
/// starts with `{`: strings are skipped whole (escapes included), nesting is counted by
/// brackets, and a key is a string at depth 1 followed by `:`. Keys are not unescaped.
fn json_top_level(text: &str) -> Option<Vec<(String, Option<u8>)>> {
    let bytes = text.trim_start().strip_prefix('{')?.as_bytes();
    let next_non_space = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let mut keys = Vec::new();
    let (mut depth, mut i) = (1usize, 0);
    while i < bytes.len() && depth > 0 {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(bytes.len());
                let colon = next_non_space(i + 1);
                if depth == 1 && bytes.get(colon) == Some(&b':') {
                    let key = String::from_utf8_lossy(&bytes[start..end]).into_owned();
                    keys.push((key, bytes.get(next_non_space(colon + 1)).copied()));
                    i = colon;
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    Some(keys)
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
    fn a_json_mistake_does_not_hide_what_the_file_is() {
        let unclosed = r#"{"models": [{"name": "gpt-4o"}]"#;
        assert_eq!(kind_of(unclosed), FileKind::ModelCatalogue);
        assert_eq!(
            kind_of(r#"{"models": "m.json", "provider": {"rpm": 1,}, "#),
            FileKind::Scenario
        );
        assert!(is_scenario("{\n  \"traffic\": {\"groups\": [}\n"));
        assert_eq!(
            kind_of(r#"{"note": "a \"profiles\": [ in a string", "policies": [1,"#),
            FileKind::PolicyFile,
            "keys inside strings and escaped quotes are no keys"
        );
        assert_eq!(
            kind_of(r#"{"outer": {"profiles": []}, "x": ["#),
            FileKind::Scenario,
            "nested keys are no top-level keys (nothing named: a scenario)"
        );
        assert!(!is_scenario(r#"{"policies": [], "x": {"#));
    }

    #[test]
    fn a_json_scenario_is_a_scenario() {
        assert!(is_scenario(r#"{"name": "s", "provider": {"rpm": 1}}"#));
        assert!(!is_scenario(r#"{"policies": [{"name": "p"}]}"#));
    }

    #[test]
    fn a_yaml_mistake_does_not_hide_what_the_file_is() {
        assert!(is_scenario("seed: 1\nseed: 2\nprovider:\n  rpm: [1\n"));
        assert!(!is_scenario("policies:\n  - name: p\nproviders: x\n"));
        assert!(!is_scenario("# provider: a comment\npolicies: []\n"));
    }
}
