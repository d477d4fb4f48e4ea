//! serde-saphyr's messages rewritten in the scenario author's words: `invalid u64` becomes
//! "`1200.5` is not a whole number", a duplicate key drops the library's `DuplicateKeyPolicy`
//! advice (an option of our parser, not of the user's file), an empty file says so.

/// The user-facing message for a deserialization error `message` reported at `line`:`column`
/// (1-based) of `source`; `needs` says what an empty file lacks (e.g. "a scenario needs at
/// least `duration`, …").
pub(crate) fn in_user_words(
    message: &str,
    source: &str,
    line: usize,
    column: usize,
    needs: &str,
) -> String {
    if is_empty_yaml(source) {
        return format!("the file is empty: {needs}");
    }
    let message = strip_position(message);
    let value = value_at(source, line, column);
    let expected = match message {
        "invalid u64" | "invalid u32" | "invalid usize" => Some("a whole number ≥ 0, e.g. `1200`"),
        "invalid i64" | "invalid i32" => Some("a whole number, e.g. `500`"),
        "invalid floating point" => {
            Some("a plain number, e.g. `500`, `0.5` or `10` (no units, words or `%`)")
        }
        _ => None,
    };
    if let Some(expected) = expected {
        return format!("`{value}` is not allowed here; expected {expected}");
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("`{key}` is written twice in the same mapping; keep one");
    }
    message.to_string()
}

/// `source` with the wrongly typed number at `line`:`column` replaced by `1` (padded to the
/// same width, so later columns do not move), or `None` when the error is not such a type
/// error. Parsing the result again finds the file's *next* type error: serde stops at the
/// first, and a user should see every one at once.
pub(crate) fn with_number_fixed(
    message: &str,
    source: &str,
    line: usize,
    column: usize,
) -> Option<String> {
    let numeric = matches!(
        strip_position(message),
        "invalid u64"
            | "invalid u32"
            | "invalid usize"
            | "invalid i64"
            | "invalid i32"
            | "invalid floating point"
    );
    if !numeric {
        return None;
    }
    let value = value_at(source, line, column);
    let text = source.lines().nth(line.checked_sub(1)?)?;
    let start = text.char_indices().nth(column.checked_sub(1)?)?.0;
    if value.is_empty() || !text[start..].starts_with(&value) {
        return None;
    }
    let fixed = format!("{:<width$}", "1", width = value.len());
    let mut out = String::with_capacity(source.len());
    for (i, l) in source.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            out.push_str(&l[..start]);
            out.push_str(&fixed);
            out.push_str(&l[start + value.len()..]);
        } else {
            out.push_str(l);
        }
    }
    Some(out)
}

/// Whether `source` holds no YAML content (only blanks and comments).
fn is_empty_yaml(source: &str) -> bool {
    source.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    })
}

/// `message` without a trailing ` at line N, column M`.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => &message[..i],
        _ => message,
    }
}

/// The scalar written at `line`:`column`, up to a flow delimiter or comment.
fn value_at(source: &str, line: usize, column: usize) -> String {
    let text = source.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let start = text
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    let rest = &text[start..];
    let end = rest.find([',', '}', ']', '#']).unwrap_or(rest.len());
    rest[..end].trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_number_is_replaced_in_place_and_other_errors_are_left() {
        let src = "a: 1\nx: { m: 1000%, y: five }\n";
        let fixed = with_number_fixed("invalid floating point", src, 2, 9).expect("numeric");
        assert_eq!(fixed, "a: 1\nx: { m: 1    , y: five }\n");
        assert_eq!(with_number_fixed("unknown field `z`", src, 2, 9), None);
    }

    #[test]
    fn type_errors_quote_the_value_and_say_what_is_allowed() {
        let src = "users: 1200.5\nrpm: five hundred\nx: { multiplier: 1000%, y: 1 }\n";
        let m = in_user_words("invalid u64 at line 1, column 8", src, 1, 8, "x");
        assert_eq!(
            m,
            "`1200.5` is not allowed here; expected a whole number ≥ 0, e.g. `1200`"
        );
        let m = in_user_words("invalid i64", src, 2, 6, "x");
        assert!(m.starts_with("`five hundred` is not allowed"), "{m}");
        let m = in_user_words("invalid floating point", src, 3, 18, "x");
        assert!(
            m.starts_with("`1000%` is not allowed") && m.contains("no units"),
            "{m}"
        );
    }

    #[test]
    fn duplicate_keys_and_empty_files_speak_plainly() {
        let m = in_user_words(
            "duplicate mapping key: seed, set DuplicateKeyPolicy in Options if acceptable at line 2, column 1",
            "seed: 1\nseed: 2\n",
            2,
            1,
            "x",
        );
        assert_eq!(m, "`seed` is written twice in the same mapping; keep one");
        let m = in_user_words("unexpected end of input", "# nothing\n\n", 1, 1, "x");
        assert!(m.starts_with("the file is empty"), "{m}");
    }
}
