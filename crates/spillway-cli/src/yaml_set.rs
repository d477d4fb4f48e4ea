//! `--set path.to.field=v1,v2`: replace one scalar of the scenario's YAML text in place.
//!
//! The edit is made on the text, at the value's own position, so every other line and column
//! is unchanged: the scenario parser then reports errors (a wrong type, an out-of-range value)
//! at the user's file, line and column, exactly as for a hand edit. Paths are the ones error
//! messages print: `provider.rpm`, `traffic.groups[0].users`, `policies[1].queue_capacity`,
//! `traffic.groups[0].input_tokens.median` (flow maps too).

use spillway_core::keys::{looks_like_env_name, shown_source_name};
use spillway_sim::scenario::{field_path_at, quoted_key};

/// One `--set` flag: a field path and the values to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Dotted path with `[i]` list indices.
    pub path: String,
    /// Values in the order given.
    pub values: Vec<String>,
}

/// Parse `path=v1,v2,...`.
pub fn parse_setting(arg: &str) -> Result<Setting, String> {
    // Anything touching a `secret` field may carry a pasted secret: never echo it whole.
    let shown = match arg.find("secret") {
        Some(i) => format!("{}…", &arg[..i + "secret".len()]),
        None => arg.to_string(),
    };
    let (path, values) = arg
        .split_once('=')
        .ok_or_else(|| format!("--set {shown}: expected path.to.field=value1,value2"))?;
    let path = path.trim();
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if path.is_empty() || values.iter().any(String::is_empty) {
        return Err(format!(
            "--set {shown}: expected path.to.field=value1,value2 (no empty path or value)"
        ));
    }
    if path.contains("secret.env")
        && let Some(v) = values.iter().find(|v| !looks_like_env_name(v))
    {
        return Err(format!(
            "--set {path}: `{}` does not look like an environment variable name \
             (A-Z, 0-9, `_`); give the NAME of the variable that holds the secret, never the \
             secret itself",
            shown_source_name(v)
        ));
    }
    Ok(Setting {
        path: path.to_string(),
        values,
    })
}

/// `text` with the scalar at `path` replaced by `value`.
pub fn set_value(text: &str, path: &str, value: &str) -> Result<String, String> {
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        for key_start in key_positions(line) {
            if field_path_at(text, index + 1, key_start + 1) != path {
                continue;
            }
            let Some((start, end)) = value_span(line, key_start) else {
                return Err(format!(
                    "--set {path}: `{path}` is a section (a map or a list), not a single value"
                ));
            };
            let mut edited = String::with_capacity(text.len() + value.len());
            edited.push_str(&text[..offset + start]);
            edited.push_str(&quoted(value));
            edited.push_str(&text[offset + end..]);
            return Ok(edited);
        }
        offset += line.len();
    }
    Err(format!(
        "--set {path}: the scenario has no field `{path}` (paths look like provider.rpm, \
         traffic.groups[0].users, policies[1].queue_capacity; a field must be present in the \
         file to be swept)"
    ))
}

/// Byte positions of `key:` on a line (outside comments), block or flow style.
fn key_positions(line: &str) -> Vec<usize> {
    let code = line.split(" #").next().unwrap_or(line);
    let bytes = code.as_bytes();
    let is_key_char = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.';
    // A key starts a line, a list item or a flow-map entry. A byte-order mark before the
    // first key is not content (the YAML parser skips it too).
    let in_key_context = |at: usize| {
        let preceded = code[..at].trim_end().trim_start_matches('\u{feff}');
        preceded.is_empty()
            || preceded.ends_with('-')
            || preceded.ends_with('{')
            || preceded.ends_with(',')
    };
    let mut positions = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if let Some((_, used)) = quoted_key(&code[i..]) {
            // A quoted key may touch its value (`"rpm":500`, JSON as tools write it).
            if in_key_context(i) {
                positions.push(i);
            }
            i += used;
            continue;
        }
        if is_key_char(bytes[i]) && (i == 0 || !is_key_char(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && is_key_char(bytes[i]) {
                i += 1;
            }
            let after_colon = bytes.get(i + 1).copied();
            if bytes.get(i) == Some(&b':')
                && matches!(after_colon, None | Some(b' ' | b'\n' | b'\r'))
                && in_key_context(start)
            {
                positions.push(start);
            }
        } else {
            // Step over a whole character: `code[i..]` above must start on a char boundary
            // (comments and values may hold `…`, `→`, `é`).
            i += code[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    positions
}

/// The span of the scalar after the key at `key_start`: up to a comment, the line end, or
/// (in a flow map) the next `,` or `}`. `None` when there is no value on the line.
fn value_span(line: &str, key_start: usize) -> Option<(usize, usize)> {
    let colon = key_start + line[key_start..].find(':')?;
    let rest = &line[colon + 1..];
    let start = colon + 1 + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
    let in_flow = line[..key_start].contains('{');
    let tail = &line[start..];
    let mut end = tail.len();
    for stop in [" #", "\r", "\n"] {
        end = end.min(tail.find(stop).unwrap_or(end));
    }
    if in_flow {
        end = end.min(tail.find([',', '}']).unwrap_or(end));
    }
    let value = tail[..end].trim_end();
    if value.is_empty() || value.starts_with('{') || value.starts_with('[') {
        return None;
    }
    Some((start, start + value.len()))
}

/// The value as YAML: plain when safe, double-quoted otherwise.
fn quoted(value: &str) -> String {
    let plain = !value.contains([':', '#', ',', '{', '}', '[', ']', '"', '\'', '\n'])
        && !value.starts_with(['&', '*', '!', '|', '>', '%', '@', '`', '-', ' ']);
    if plain || value.parse::<f64>().is_ok() {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = concat!(
        "seed: 1 # the seed\n",
        "provider:\n",
        "  rpm: 500\n",
        "  latency:\n",
        "    base: 350ms\n",
        "traffic:\n",
        "  groups:\n",
        "    - name: chat\n",
        "      users: 10\n",
        "      input_tokens: { median: 600, sigma: 0.8 }\n",
        "    - name: b\n",
        "      users: 20\n",
    );

    #[test]
    fn a_scalar_is_replaced_in_place_keeping_every_line() {
        let edited = set_value(SRC, "provider.rpm", "250").expect("found");
        assert_eq!(edited, SRC.replace("rpm: 500", "rpm: 250"));
        let edited = set_value(SRC, "seed", "7").expect("found");
        assert!(edited.starts_with("seed: 7 # the seed\n"), "{edited}");
        let edited = set_value(SRC, "traffic.groups[1].users", "99").expect("found");
        assert_eq!(edited, SRC.replace("users: 20", "users: 99"));
        let edited = set_value(SRC, "traffic.groups[0].input_tokens.sigma", "1.5").expect("found");
        assert!(edited.contains("{ median: 600, sigma: 1.5 }"), "{edited}");
        assert_eq!(edited.lines().count(), SRC.lines().count());
    }

    #[test]
    fn quoted_keys_are_found() {
        let src = "\"seed\": 1\n\"provider\": {\"rpm\": 500, 'tpm': 9}\n";
        let edited = set_value(src, "provider.rpm", "250").expect("found");
        assert_eq!(edited, src.replace("500", "250"));
        let edited = set_value(src, "seed", "7").expect("found");
        assert!(edited.starts_with("\"seed\": 7\n"), "{edited}");
        let edited = set_value(src, "provider.tpm", "8").expect("found");
        assert!(edited.contains("'tpm': 8}"), "{edited}");
        // JSON as written by tools: no space after the colon of a quoted key.
        let json = "{\"seed\":1,\"provider\":{\"rpm\":500,\"tpm\":9}}\n";
        let edited = set_value(json, "provider.rpm", "250").expect("found");
        assert_eq!(edited, json.replace("500", "250"));
    }

    #[test]
    fn non_ascii_text_and_a_byte_order_mark_are_stepped_over() {
        let src = "seed: 1 # 3 × 2 → 6…\ndescription: café\nprovider:\n  rpm: 500 # é\n";
        let edited = set_value(src, "provider.rpm", "250").expect("found");
        assert_eq!(edited, src.replace("rpm: 500", "rpm: 250"));
        let edited = set_value(src, "description", "thé").expect("found");
        assert!(edited.contains("description: thé\n"), "{edited}");
        let bom = format!("\u{feff}{src}");
        let edited = set_value(&bom, "seed", "7").expect("the key after a BOM is found");
        assert!(edited.starts_with("\u{feff}seed: 7 #"), "{edited}");
    }

    #[test]
    fn unknown_paths_and_sections_are_refused() {
        let err = set_value(SRC, "provider.rpn", "1").expect_err("no such field");
        assert!(err.contains("no field `provider.rpn`"), "{err}");
        let err = set_value(SRC, "provider.latency", "1").expect_err("a section");
        assert!(err.contains("is a section"), "{err}");
    }

    #[test]
    fn settings_parse_and_odd_values_are_quoted() {
        let s = parse_setting("provider.rpm=250, 500").expect("valid");
        assert_eq!(s.values, vec!["250", "500"]);
        assert!(parse_setting("provider.rpm").is_err());
        assert!(parse_setting("provider.rpm=1,,2").is_err());
        assert_eq!(quoted("a: b"), "\"a: b\"");
        assert_eq!(quoted("-5"), "-5");
        assert_eq!(quoted("2m"), "2m");
    }
}
