//! Reading per-request logs (Azure, BurstGPT, mapped CSV) one row at a time.
//!
//! One `csv::Reader` over a buffered file, one reused record: memory does not depend on the
//! trace's length. Columns are found by header name, so BurstGPT's 6- and 8-column layouts
//! (which insert `Session ID` and `Elapsed time` at positions 1 and 2) both work. CRLF or LF,
//! with or without a final newline, and a UTF-8 BOM are all accepted (the csv crate's rules).

use super::error::TraceError;
use super::spec::{TimeUnit, TraceFormat};
use super::time::{DateTimeFormat, decimal_to_ns};
use spillway_core::input_file::{LineCapped, MAX_LINE_BYTES};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// One request of a trace, in the trace's own clock.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TraceRow {
    /// 1-based line in the file (0 for generated rows).
    pub line: u64,
    /// Timestamp in trace nanoseconds.
    pub at_ns: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// User or session key, if the row has one.
    pub user: Option<String>,
    /// Class name, if mapped.
    pub class: Option<String>,
    /// Feature name, if mapped.
    pub feature: Option<String>,
    /// Model name, if the trace has one.
    pub model: Option<String>,
    /// The request failed in the original trace (BurstGPT: zero response tokens).
    pub failed: bool,
}

/// Column positions resolved from the header.
struct Layout {
    time: (usize, String),
    input: (usize, String),
    output: (usize, String),
    user: Option<usize>,
    session: Option<usize>,
    class: Option<usize>,
    feature: Option<usize>,
    model: Option<usize>,
    time_unit: TimeUnit,
    zero_output_fails: bool,
}

/// Streams [`TraceRow`]s from a log file; malformed rows come back as [`TraceError::Row`].
pub struct RowReader {
    file: PathBuf,
    reader: csv::Reader<BufReader<TraceFile>>,
    record: csv::StringRecord,
    layout: Layout,
    rows: u64,
}

/// More tokens than any model's context in one request is a corrupt row (and keeps the
/// token histograms of the statistics bounded).
pub const MAX_TOKENS: u64 = 10_000_000;

const SECONDS: TimeUnit = TimeUnit::Decimal {
    unit_ns: 1_000_000_000,
};

/// A trace file whose lines are capped in length: a file without newlines (`/dev/zero` behind a
/// symlink, a corrupt download) fails with a clear error instead of buffering without bound.
pub(super) type TraceFile = LineCapped<File>;

/// `file` with the line cap of every trace.
pub(super) fn capped(file: File) -> TraceFile {
    LineCapped::new(file, MAX_LINE_BYTES)
}

impl RowReader {
    /// Open `path` and check its header against `format`.
    pub fn open(path: &Path, format: &TraceFormat, hint: Option<&str>) -> Result<Self, TraceError> {
        let file = spillway_core::input_file::open_regular(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TraceError::NotFound {
                file: path.to_path_buf(),
                hint: hint.map(str::to_string),
            },
            _ => io_error(path, &e.to_string()),
        })?;
        let delimiter = match format {
            TraceFormat::Csv(m) => m.delimiter,
            _ => b',',
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(BufReader::with_capacity(1 << 16, capped(file)));
        let header = reader
            .headers()
            .map_err(|e| io_error(path, &e.to_string()))?
            .clone();
        if header.iter().all(|h| h.trim().is_empty()) {
            return Err(TraceError::Empty {
                file: path.to_path_buf(),
                line: 1,
                message: format!(
                    "empty trace: expected a header line for the `{}` format",
                    format.name()
                ),
            });
        }
        let layout = layout(format, &header).map_err(|message| TraceError::Header {
            file: path.to_path_buf(),
            message,
        })?;
        Ok(RowReader {
            file: path.to_path_buf(),
            reader,
            record: csv::StringRecord::new(),
            layout,
            rows: 0,
        })
    }

    /// The file being read.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The next row: `None` at the end, `Some(Err(Row))` for a malformed row (reading may go
    /// on), `Some(Err(_))` of another kind for a fatal error.
    pub fn next_row(&mut self) -> Option<Result<TraceRow, TraceError>> {
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) if self.rows == 0 => {
                self.rows = 1; // report emptiness once
                return Some(Err(TraceError::Empty {
                    file: self.file.clone(),
                    line: 2,
                    message: "empty trace: the header is not followed by any row".to_string(),
                }));
            }
            Ok(false) => return None,
            Err(e) => return Some(Err(io_error(&self.file, &e.to_string()))),
        }
        self.rows += 1;
        let line = self.record.position().map_or(0, |p| p.line());
        Some(self.parse(line).map_err(|message| TraceError::Row {
            file: self.file.clone(),
            line,
            message,
        }))
    }

    fn parse(&self, line: u64) -> Result<TraceRow, String> {
        let l = &self.layout;
        let field = |&(i, ref name): &(usize, String)| {
            self.record.get(i).ok_or_else(|| {
                format!(
                    "missing field `{name}` (column {}): the row has {} fields",
                    i + 1,
                    self.record.len()
                )
            })
        };
        let opt = |i: Option<usize>| {
            i.and_then(|i| self.record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let time_text = field(&l.time)?;
        let at_ns = match &l.time_unit {
            TimeUnit::Decimal { unit_ns } => decimal_to_ns(time_text, *unit_ns),
            TimeUnit::DateTime(f) => f.parse_ns(time_text),
        }
        .map_err(|e| format!("`{}`: {e}", l.time.1))?;
        let tokens = |col: &(usize, String)| -> Result<u64, String> {
            let text = field(col)?.trim();
            match text.parse::<u64>() {
                Ok(n) if n <= MAX_TOKENS => Ok(n),
                Ok(n) => Err(format!("`{}` is {n} tokens, more than {MAX_TOKENS}", col.1)),
                Err(_) => Err(format!(
                    "`{}` must be a whole number of tokens, got `{text}`",
                    col.1
                )),
            }
        };
        let input_tokens = tokens(&l.input)?;
        let output_tokens = tokens(&l.output)?;
        Ok(TraceRow {
            line,
            at_ns,
            input_tokens,
            output_tokens,
            user: opt(l.user).or_else(|| opt(l.session)),
            class: opt(l.class),
            feature: opt(l.feature),
            model: opt(l.model),
            failed: l.zero_output_fails && output_tokens == 0,
        })
    }
}

fn io_error(path: &Path, message: &str) -> TraceError {
    TraceError::Io {
        file: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// A header without a needed column. The first line is not shown: a file given by mistake
/// (`--trace prod.key`) would have its secret printed, so only its column count is.
pub(super) fn missing_column(format: &str, name: &str, columns: usize) -> String {
    format!(
        "the first line is not a `{format}` trace header: it has no column `{name}` \
         ({columns} column{} found; the line itself is not shown)",
        if columns == 1 { "" } else { "s" }
    )
}

fn layout(format: &TraceFormat, header: &csv::StringRecord) -> Result<Layout, String> {
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let need = |name: &str| -> Result<(usize, String), String> {
        find(name)
            .map(|i| (i, name.to_string()))
            .ok_or_else(|| missing_column(format.name(), name, header.len()))
    };
    let mapped = |name: &Option<String>| name.as_deref().map(|n| need(n).map(|c| c.0)).transpose();
    match format {
        TraceFormat::Azure => Ok(Layout {
            time: need("TIMESTAMP")?,
            input: need("ContextTokens")?,
            output: need("GeneratedTokens")?,
            user: None,
            session: None,
            class: None,
            feature: None,
            model: None,
            time_unit: TimeUnit::DateTime(
                DateTimeFormat::new("%Y-%m-%d %H:%M:%S%.f").map_err(|e| e.to_string())?,
            ),
            zero_output_fails: false,
        }),
        TraceFormat::BurstGpt => Ok(Layout {
            time: need("Timestamp")?,
            input: need("Request tokens")?,
            output: need("Response tokens")?,
            user: None,
            session: find("Session ID"),
            class: None,
            feature: None,
            model: find("Model"),
            time_unit: SECONDS,
            zero_output_fails: true,
        }),
        TraceFormat::Csv(m) => Ok(Layout {
            time: need(&m.time)?,
            input: need(&m.input_tokens)?,
            output: need(&m.output_tokens)?,
            user: mapped(&m.user)?,
            session: mapped(&m.session)?,
            class: mapped(&m.class)?,
            feature: mapped(&m.feature)?,
            model: mapped(&m.model)?,
            time_unit: m.time_unit.clone(),
            zero_output_fails: false,
        }),
        TraceFormat::ServeGen { .. } => Err("ServeGen windows are not a request log".to_string()),
    }
}
