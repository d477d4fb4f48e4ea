//! Trace errors: every one names the file, and the line when there is one.

use std::path::PathBuf;

/// Why a trace cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The file does not exist. Where to point the run at it instead is the caller's to add
    /// (the scenario's `traffic.trace.path`, a command's flag if it has one).
    #[error("{}: trace file not found{}", file.display(), hint.as_deref().map(|h| format!("; get it from {h}")).unwrap_or_default())]
    NotFound {
        /// The path tried.
        file: PathBuf,
        /// Where to get it (`traffic.trace.get_from`).
        hint: Option<String>,
    },
    /// The file could not be read.
    #[error("{}: cannot read the trace: {message}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The system's message.
        message: String,
    },
    /// The file has no header or no data row.
    #[error("{}:{line}: {message}", file.display())]
    Empty {
        /// The file.
        file: PathBuf,
        /// The line where data was expected.
        line: u64,
        /// What is missing.
        message: String,
    },
    /// The header lacks a column the format or mapping needs.
    #[error("{}:1: {message}", file.display())]
    Header {
        /// The file.
        file: PathBuf,
        /// Which column is missing and which exist.
        message: String,
    },
    /// A malformed row, under `on_error: stop`.
    #[error("{}:{line}: {message}", file.display())]
    Row {
        /// The file.
        file: PathBuf,
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong with the row.
        message: String,
    },
}

impl TraceError {
    /// The 1-based line the error is about (0: the whole file).
    pub fn line(&self) -> u64 {
        match self {
            TraceError::Row { line, .. } | TraceError::Empty { line, .. } => *line,
            TraceError::Header { .. } => 1,
            _ => 0,
        }
    }
}
