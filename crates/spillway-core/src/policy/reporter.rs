//! [`Reporter`]: collects every problem of one file, each located and named by its field
//! path, so a file with several mistakes is fixed in one round; plus the checks of values that
//! policy and scenario files share (durations, rates, positive numbers).

use super::S;
use super::closest::closest_names;
use super::error::{LocatedError, LocatedErrors, MAX_SHOWN_ERRORS, field_path_at};
use super::missing_field::MissingField;
use super::serde_words::{in_user_words, with_number_fixed};
use super::units::{DURATION_FORMS, parse_duration, parse_rate_per_sec};
use crate::Duration;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Most type errors reported from one file (each costs a parse).
pub const MAX_TYPE_ERRORS: usize = 100;

/// Collects errors against one source text.
pub struct Reporter<'a> {
    file: &'a Path,
    source: &'a str,
    errors: Vec<LocatedError>,
}

impl<'a> Reporter<'a> {
    /// A reporter for `source`, the text of `file`.
    pub fn new(file: &'a Path, source: &'a str) -> Self {
        Reporter {
            file,
            source,
            errors: Vec::new(),
        }
    }

    /// The scenario file (relative paths inside it are resolved against its directory).
    pub fn file(&self) -> &Path {
        self.file
    }

    /// Record an error at a 1-based location; the field path is recovered from the source.
    pub fn at(&mut self, line: usize, column: usize, message: impl Into<String>) {
        let field = field_path_at(self.source, line, column);
        self.push(line, column, field, message.into());
    }

    fn push(&mut self, line: usize, column: usize, field: String, message: String) {
        self.errors.push(LocatedError {
            file: self.file.to_path_buf(),
            line,
            column,
            field,
            message,
        });
    }

    /// Record an error about a field that is missing or has no location of its own.
    pub fn whole(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(LocatedError {
            file: self.file.to_path_buf(),
            line: 1,
            column: 1,
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Take over errors found in another file (a provider profile library).
    pub fn extend(&mut self, errors: LocatedErrors) {
        self.errors.extend(errors.0);
    }

    /// The errors recorded so far (possibly none).
    pub fn into_errors(self) -> LocatedErrors {
        LocatedErrors(self.errors)
    }

    /// `Ok` when nothing was recorded, else every error.
    pub fn finish(self) -> Result<(), LocatedErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(LocatedErrors(self.errors))
        }
    }
}

impl Reporter<'_> {
    /// Record an error at `value`'s location.
    pub fn bad<T>(&mut self, value: &S<T>, message: impl Into<String>) {
        let l = &value.referenced;
        self.at(l.line() as usize, l.column() as usize, message);
    }

    /// A duration (`500ms`, `1h30m`), or an error at `value`.
    pub fn duration(&mut self, value: &S<String>) -> Option<Duration> {
        parse_duration(&value.value)
            .map_err(|e| self.bad(value, e))
            .ok()
    }

    /// A duration longer than 0, or an error at `value`.
    pub fn positive_duration(&mut self, value: &S<String>) -> Option<Duration> {
        let d = self.duration(value)?;
        if d.is_zero() {
            self.bad(
                value,
                format!("must be longer than 0; expected {DURATION_FORMS}"),
            );
            return None;
        }
        Some(d)
    }

    /// Record that `name` names no entry of the top-level `block:` list (whose names are
    /// `known`): e.g. "no layer is named `x`; layers are: a, b".
    /// Long lists show the closest few ([`closest_names`]); past the errors that will be
    /// shown ([`MAX_SHOWN_ERRORS`]) none is ranked.
    pub fn unknown_name(&mut self, name: &S<String>, what: &str, block: &str, known: &[&str]) {
        let list = if known.is_empty() {
            format!("none are defined (add a top-level `{block}:` list)")
        } else if self.errors.len() >= MAX_SHOWN_ERRORS {
            format!("{} names", known.len())
        } else {
            closest_names(&name.value, known)
        };
        let message = format!("no {what} is named `{}`; {block} are: {list}", name.value);
        self.bad(name, message);
    }

    /// A rate (`2/min`) per second, or an error at `value`.
    pub fn rate(&mut self, value: &S<String>) -> Option<f64> {
        parse_rate_per_sec(&value.value)
            .map_err(|e| self.bad(value, e))
            .ok()
    }

    /// `value` if it is greater than 0, else an error naming `what`.
    pub fn positive<T: Copy + PartialOrd + Default + std::fmt::Display>(
        &mut self,
        value: &S<T>,
        what: &str,
    ) -> Option<T> {
        if value.value > T::default() {
            Some(value.value)
        } else {
            self.bad(
                value,
                format!("{what} must be greater than 0, got {}", value.value),
            );
            None
        }
    }

    /// Deserialize the whole text as `T`; a syntax, type or unknown-field error is recorded,
    /// located. With `needs` (what an empty file lacks) the message is put in the author's
    /// words and every wrongly typed number is reported, not only the first (each is patched
    /// in a copy of the text and the copy parsed again, at most `MAX_TYPE_ERRORS` times);
    /// without, serde's own message for the first error. A missing field is reported at the
    /// mapping that lacks it (found in the YAML events), not at the mapping's last key.
    pub fn parse_yaml<T: DeserializeOwned>(&mut self, needs: Option<&str>) -> Option<T> {
        let first = match serde_saphyr::from_str(self.source) {
            Ok(raw) => return Some(raw),
            Err(e) => e,
        };
        let mut error = Some(first);
        let mut current = self.source.to_string();
        for _ in 0..MAX_TYPE_ERRORS {
            let e = error.take()?;
            if let Some(m) = MissingField::of(&e, &current) {
                self.push(m.line, m.column, m.path, m.message);
                return None;
            }
            let (line, column) = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize))
                .unwrap_or((1, 1));
            let message = serde_message(&e);
            let Some(needs) = needs else {
                self.at(line, column, message);
                return None;
            };
            let words = in_user_words(&message, &current, line, column, needs);
            self.at(line, column, words);
            current = with_number_fixed(&message, &current, line, column)?;
            error = serde_saphyr::from_str::<T>(&current).err();
        }
        None
    }
}

/// serde-saphyr's message without its `line N column M:` prefix and snippet (we print our own).
pub fn serde_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error:").unwrap_or(first).trim();
    match first.find("column ") {
        Some(i) if first.starts_with("line ") => match first[i..].find(": ") {
            Some(j) => first[i + j + 2..].to_string(),
            None => first.to_string(),
        },
        _ => first.to_string(),
    }
}
