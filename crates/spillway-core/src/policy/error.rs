//! Errors in a YAML file (a policy file, a scenario, a model catalogue) that point at the
//! problem: `file:line:column: field: what is allowed`.
//!
//! serde-saphyr reports a line and column for syntax, type and unknown-field errors but not the
//! field's path; semantic checks know the value's location (from `Spanned`) but not its path
//! either. [`field_path_at`] recovers the dotted path (`policies[1].layers[0].window`) from the
//! source text at a location, so every error names its field the same way.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when the problem has no single place, e.g. an unreadable file).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Dotted path of the field, e.g. `policies[0].layers[1].limit`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// `path` as printed in messages: control characters escaped (`\u{1b}`), nothing else, so a
/// file name cannot drive the terminal while the location still names the file as typed.
pub fn shown_path(path: &Path) -> String {
    path.display()
        .to_string()
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl fmt::Display for LocatedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = shown_path(&self.file);
        match (self.line, self.field.is_empty()) {
            (0, _) => write!(f, "{file}: {}", self.message),
            (_, true) => write!(f, "{file}:{}:{}: {}", self.line, self.column, self.message),
            _ => write!(
                f,
                "{file}:{}:{}: {}: {}",
                self.line, self.column, self.field, self.message
            ),
        }
    }
}

impl LocatedError {
    /// A problem of the whole file, with no single place in it.
    pub fn whole_file(path: &Path, message: impl Into<String>) -> Self {
        LocatedError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            field: String::new(),
            message: message.into(),
        }
    }

    /// A file that could not be read at all (`what` names it, e.g. "the scenario").
    pub fn unreadable(path: &Path, what: &str, reason: impl fmt::Display) -> Self {
        Self::whole_file(path, format!("cannot read {what}: {reason}"))
    }
}

/// Every problem found in one file (at least one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LocatedErrors(pub Vec<LocatedError>);

/// Most errors printed: the first ones are what to fix, and a file with thousands of mistakes
/// must not print thousands of lines (the rest are counted).
pub const MAX_SHOWN_ERRORS: usize = 100;

impl fmt::Display for LocatedErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().take(MAX_SHOWN_ERRORS).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if let Some(more) = self
            .0
            .len()
            .checked_sub(MAX_SHOWN_ERRORS)
            .filter(|&n| n > 0)
        {
            write!(f, "\n… {more} more errors not shown; fix these first")?;
        }
        Ok(())
    }
}

/// The dotted path of the YAML field at (`line`, `column`), for block-style YAML (flow maps on
/// one line are handled too: `input_tokens: { median: 1, sigma: x }` → `input_tokens.sigma`).
///
/// Walks up from the line to each less-indented parent key, counting `- ` items at each list
/// level. Returns "" if the location is outside the text.
pub fn field_path_at(source: &str, line: usize, column: usize) -> String {
    let lines: Vec<Line<'_>> = source.lines().map(Line::parse).collect();
    let Some(start) = line.checked_sub(1).filter(|&i| i < lines.len()) else {
        return String::new();
    };
    let here = &lines[start];
    let mut segments: Vec<String> = here.keys_before(column.saturating_sub(1));
    segments.reverse();
    let mut indent = here.content;
    let mut after_index = false;
    if let Some(dash) = here.dash {
        segments.push(format!("[{}]", count_items_above(&lines, start, dash)));
        indent = dash;
        after_index = true;
    }
    for j in (0..start).rev() {
        let l = &lines[j];
        if l.blank {
            continue;
        }
        match l.dash {
            Some(dash) if dash < indent && l.content <= indent => {
                segments.push(format!("[{}]", count_items_above(&lines, j, dash)));
                indent = dash;
                after_index = true;
            }
            None if l.content < indent || (after_index && l.content == indent) => {
                if let Some(key) = l.keys_before(usize::MAX).first() {
                    segments.push(key.clone());
                }
                indent = l.content;
                after_index = false;
            }
            _ => {}
        }
        if indent == 0 && !after_index {
            break;
        }
    }
    join_path(segments.iter().rev())
}

/// `segments`, outermost first, as a field path: `keys`, `[0]`, `budget` → `keys[0].budget`.
/// The one spelling of a path, whether it was read from the text or from the YAML events.
pub(crate) fn join_path<T: AsRef<str>>(segments: impl IntoIterator<Item = T>) -> String {
    let mut path = String::new();
    for seg in segments {
        let seg = seg.as_ref();
        if !path.is_empty() && !seg.starts_with('[') {
            path.push('.');
        }
        path.push_str(seg);
    }
    path
}

/// One source line as the path walker sees it.
struct Line<'a> {
    text: &'a str,
    /// Blank or comment-only.
    blank: bool,
    /// Column (0-based) of the `-` if the line starts a list item.
    dash: Option<usize>,
    /// Column (0-based) where the line's content (after any `- `) starts.
    content: usize,
}

impl<'a> Line<'a> {
    fn parse(text: &'a str) -> Self {
        let spaces = text.len() - text.trim_start_matches(' ').len();
        let rest = &text[spaces..];
        let blank = rest.is_empty() || rest.starts_with('#');
        let is_dash = rest == "-" || rest.starts_with("- ");
        let content = if is_dash {
            spaces + 1 + (rest[1..].len() - rest[1..].trim_start_matches(' ').len())
        } else {
            spaces
        };
        Line {
            text,
            blank,
            dash: is_dash.then_some(spaces),
            content,
        }
    }

    /// The path segments that lead to `column` on this line, outermost first: the line's own
    /// key (a key outside any flow collection), then for each open flow collection the key it
    /// is the value of and, for a list, the index in it (`[i]`), then the last key of the
    /// innermost open flow map before the column. So one-line JSON
    /// (`{"provider":{"rpm":5}}`) names `provider.rpm`.
    fn keys_before(&self, column: usize) -> Vec<String> {
        let text = self.text;
        let mut own: Option<String> = None;
        let mut flow_key: Option<String> = None;
        // Open flow collections: (`None` for a map or `Some(index)` for a list, the key whose
        // value it is when it sits in a flow map).
        let mut open: Vec<(Option<usize>, Option<String>)> = Vec::new();
        let mut pos = self.content;
        while pos < text.len() && pos <= column {
            let rest = &text[pos..];
            // A quoted key (`"rpm": 60`, JSON-style YAML) names the same field as a plain one.
            if let Some((key, used)) = quoted_key(rest) {
                if open.is_empty() {
                    own.get_or_insert(key);
                } else {
                    flow_key = Some(key);
                }
                pos += used;
                continue;
            }
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
                .unwrap_or(rest.len());
            if len > 0 {
                if rest[len..].starts_with(':') {
                    let key = rest[..len].to_string();
                    match (open.is_empty(), &own) {
                        (true, None) => own = Some(key),
                        (true, Some(_)) => {}
                        (false, _) => flow_key = Some(key),
                    }
                }
                pos += len;
                continue;
            }
            let c = rest.chars().next().unwrap_or(' ');
            match c {
                '{' => open.push((None, flow_key.take())),
                '[' => open.push((Some(0), flow_key.take())),
                '}' | ']' => {
                    open.pop();
                    flow_key = None;
                }
                ',' => {
                    if let Some((Some(index), _)) = open.last_mut() {
                        *index += 1;
                    }
                }
                '#' if rest.starts_with("# ") || rest == "#" => break,
                _ => {}
            }
            pos += c.len_utf8();
        }
        let mut keys: Vec<String> = own.into_iter().collect();
        for (index, parent) in &open {
            keys.extend(parent.iter().cloned());
            keys.extend(index.map(|i| format!("[{i}]")));
        }
        let in_map = matches!(open.last(), Some((None, _)));
        keys.extend(flow_key.filter(|_| in_map));
        keys
    }
}

/// `"key":` or `'key':` at the start of `text`: the key and the bytes up to the closing quote.
pub fn quoted_key(text: &str) -> Option<(String, usize)> {
    let quote = text.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let close = 1 + text[1..].find(quote)?;
    text[close + 1..]
        .starts_with(':')
        .then(|| (text[1..close].to_string(), close + 1))
}

fn count_items_above(lines: &[Line<'_>], item: usize, dash: usize) -> usize {
    let mut count = 0;
    for l in lines[..item].iter().rev() {
        if l.blank {
            continue;
        }
        match l.dash {
            Some(d) if d == dash => count += 1,
            Some(d) if d < dash => break,
            None if l.content <= dash => break,
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::field_path_at;

    const SRC: &str = "seed: 1
traffic:
  groups:
    - name: chat
      users: 10
    # a comment
    - name: docs
      input_tokens: { median: 800, sigma: x }
policies:
- name: a
  layers:
    - name: per-user
      limit: 0
";

    #[test]
    fn one_line_json_names_every_level() {
        let src =
            "{\"seed\":1,\"provider\":{\"rpm\":500},\"layers\":[{\"name\":\"a\"},{\"limit\":3}]}";
        let col = |needle: &str| src.find(needle).expect("in source") + 1;
        assert_eq!(field_path_at(src, 1, col("500")), "provider.rpm");
        assert_eq!(field_path_at(src, 1, col("3}")), "layers[1].limit");
        assert_eq!(field_path_at(src, 1, col("1,")), "seed");
    }

    #[test]
    fn quoted_keys_name_the_same_fields() {
        let src = "\"provider\": {\"rpm\": 60}\n\"traffic\":\n  'users': 3\n";
        assert_eq!(field_path_at(src, 1, 14), "provider.rpm");
        assert_eq!(field_path_at(src, 3, 3), "traffic.users");
    }

    #[test]
    fn paths_follow_keys_and_list_indices() {
        assert_eq!(field_path_at(SRC, 1, 7), "seed");
        assert_eq!(field_path_at(SRC, 5, 14), "traffic.groups[0].users");
        assert_eq!(field_path_at(SRC, 7, 13), "traffic.groups[1].name");
        assert_eq!(
            field_path_at(SRC, 8, 43),
            "traffic.groups[1].input_tokens.sigma"
        );
        assert_eq!(field_path_at(SRC, 13, 14), "policies[0].layers[0].limit");
        assert_eq!(field_path_at(SRC, 10, 3), "policies[0].name");
        assert_eq!(field_path_at(SRC, 99, 1), "");
    }

    #[test]
    fn flow_items_and_flow_lists_name_their_own_fields() {
        let src = "provider:\n  outages:\n    - { start: 1m, status: 429 }\n  shared: [{ a: 1 }, { b: x }]\n";
        assert_eq!(field_path_at(src, 3, 28), "provider.outages[0].status");
        assert_eq!(field_path_at(src, 3, 14), "provider.outages[0].start");
        assert_eq!(field_path_at(src, 4, 27), "provider.shared[1].b");
        assert_eq!(field_path_at(src, 4, 14), "provider.shared[0].a");
    }
}
