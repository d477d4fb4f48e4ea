//! A required field that is absent, reported at the mapping that lacks it.
//!
//! serde-saphyr locates a "missing field" error at the *last key the mapping does have* (the
//! key it read before serde gave up), or at the `{` of an empty flow mapping. Located there,
//! a `keys:` entry without `expires` read `keys[0].role: missing field `expires``, and the
//! user looked for a problem in `role`. The error's path cannot tell a missing sibling from a
//! missing nested field, but the YAML events can: [`MissingField::of`] finds the mapping that
//! has a key (or starts) at serde's location and reports the mapping's own place and path.

use super::error::join_path;
use serde_saphyr::granit_parser::{Event, Parser};

/// A "missing field" error, moved to the mapping that lacks the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MissingField {
    /// 1-based line of the mapping: its first key, or the `{` of a flow mapping.
    pub line: usize,
    /// 1-based column of the same.
    pub column: usize,
    /// The mapping's path (`keys[0]`; empty for the top level).
    pub path: String,
    /// What is wrong, e.g. "missing field `expires`".
    pub message: String,
}

impl MissingField {
    /// `error` as a missing field of a mapping of `source`: `None` for any other error, or
    /// when no mapping has a key at serde's location (the error then stays where serde put it).
    pub(crate) fn of(error: &serde_saphyr::Error, source: &str) -> Option<MissingField> {
        let serde_saphyr::Error::SerdeMissingField { field, location } = error.without_snippet()
        else {
            return None;
        };
        let at = (location.line() as usize, location.column() as usize);
        let ((line, column), path) = mapping_at(source, at)?;
        Some(MissingField {
            line,
            column,
            path,
            message: format!("missing field `{field}`"),
        })
    }
}

/// One open collection on the way down the events.
enum Open {
    /// A mapping: where it starts, its path, whether its next node is a key, its last key.
    Map {
        start: (usize, usize),
        path: String,
        key_next: bool,
        key: String,
    },
    /// A sequence and the index of its current item.
    Seq { index: usize },
}

impl Open {
    /// The path segment of the node being read inside this collection.
    fn segment(&self) -> String {
        match self {
            Open::Map { key, .. } => key.clone(),
            Open::Seq { index } => format!("[{index}]"),
        }
    }
}

/// The start (1-based line, column) and path of the mapping that begins at `at` (an empty
/// flow mapping, or a block mapping whose first key is there) or has a key at `at`.
fn mapping_at(source: &str, at: (usize, usize)) -> Option<((usize, usize), String)> {
    let mut open: Vec<Open> = Vec::new();
    for item in Parser::new_from_str(source) {
        let (event, span) = item.ok()?;
        let here = (span.start.line(), span.start.col() + 1);
        match event {
            Event::MappingStart(..) => {
                let path = join_path(open.iter().map(Open::segment));
                if here == at {
                    return Some((here, path));
                }
                open.push(Open::Map {
                    start: here,
                    path,
                    key_next: true,
                    key: String::new(),
                });
            }
            Event::SequenceStart(..) => open.push(Open::Seq { index: 0 }),
            Event::Scalar(value, ..) => {
                if let Some(Open::Map {
                    start,
                    path,
                    key_next: true,
                    key,
                }) = open.last_mut()
                {
                    if here == at {
                        return Some((*start, path.clone()));
                    }
                    *key = value.into_owned();
                }
                node_done(&mut open);
            }
            Event::Alias(..) => node_done(&mut open),
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
                node_done(&mut open);
            }
            _ => {}
        }
    }
    None
}

/// A node of the innermost collection was read: a mapping alternates key and value, a
/// sequence moves to its next item.
fn node_done(open: &mut [Open]) {
    match open.last_mut() {
        Some(Open::Map { key_next, .. }) => *key_next = !*key_next,
        Some(Open::Seq { index }) => *index += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Top {
        keys: Option<Vec<Key>>,
        pair: Option<Pair>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Key {
        name: String,
        role: Option<String>,
        expires: Option<String>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        pairs: Vec<Pair>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Pair {
        a: u32,
        b: u32,
    }

    /// The relocated error of `source` as `line:column: path: message`.
    fn moved(source: &str) -> String {
        let e = serde_saphyr::from_str::<Top>(source).expect_err("a missing field");
        let m = MissingField::of(&e, source).expect("a mapping lacks it");
        format!("{}:{}: {}: {}", m.line, m.column, m.path, m.message)
    }

    #[test]
    fn a_block_mapping_is_named_at_its_first_key() {
        let src = "keys:\n  - name: a\n    inner: { pairs: [] }\n  - role: x\n    expires: never\n";
        assert_eq!(moved(src), "4:5: keys[1]: missing field `name`");
    }

    #[test]
    fn a_flow_mapping_is_named_at_its_brace_and_an_empty_one_too() {
        let src = "keys: [{ name: a }, { name: b, inner: { pairs: [{ a: 1 }] } }]\n";
        assert_eq!(
            moved(src),
            "1:49: keys[1].inner.pairs[0]: missing field `b`"
        );
        assert_eq!(moved("pair: {}\n"), "1:7: pair: missing field `a`");
    }

    #[test]
    fn a_nested_mapping_after_the_last_key_is_not_blamed() {
        // The lacking mapping's last key holds a complete nested mapping: serde points at
        // that key (`inner`), the error belongs to the mapping around it.
        let src = "keys:\n  - role: x\n    inner:\n      pairs:\n        - { a: 1, b: 2 }\n";
        assert_eq!(moved(src), "2:5: keys[0]: missing field `name`");
        let src = "keys:\n  - name: n\n    inner:\n      pairs:\n        - a: 1\n          # b?\n";
        assert_eq!(
            moved(src),
            "5:11: keys[0].inner.pairs[0]: missing field `b`"
        );
    }

    #[test]
    fn other_errors_are_left_alone() {
        let e = serde_saphyr::from_str::<Top>("pair: { a: x, b: 1 }\n").expect_err("type");
        assert_eq!(MissingField::of(&e, "pair: { a: x, b: 1 }\n"), None);
    }
}
