//! Why a report could not be produced. Input errors name the file (and line and column) so the
//! user can fix the CSV; the CLI maps them to exit code 2.

use std::path::PathBuf;

/// A report could not be read, drawn or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A required input file is missing or unreadable.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A CSV lacks a column the report needs. The header is not quoted: a file that lacks the
    /// column may be no CSV of a run at all (a key file linked in its place), and its first
    /// line must not reach the terminal or a log.
    #[error("{path}:1: missing column `{column}`: the header line does not name it")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column looked for.
        column: String,
    },
    /// A cell does not hold what its column promises.
    #[error("{path}:{line}: column `{column}`: expected {expected}, got `{value}`")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// The column.
        column: String,
        /// The cell's text.
        value: String,
        /// What was expected, e.g. "a non-negative integer".
        expected: &'static str,
    },
    /// The file is not well-formed CSV (ragged rows, bad UTF-8, ...).
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The CSV reader's message.
        message: String,
    },
    /// A plot could not be drawn (a bug or an extreme input, never a panic).
    #[error("drawing {plot}: {message}")]
    Plot {
        /// The plot's file stem.
        plot: String,
        /// The backend's message.
        message: String,
    },
    /// An output file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl ReportError {
    /// True when the user's input is at fault (exit code 2), false for drawing or writing.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            ReportError::Read { .. }
                | ReportError::MissingColumn { .. }
                | ReportError::BadValue { .. }
                | ReportError::Malformed { .. }
        )
    }
}
