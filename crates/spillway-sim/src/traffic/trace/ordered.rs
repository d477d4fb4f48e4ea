//! Rows in time order: a bounded reorder buffer over a [`RowReader`], plus the malformed-row
//! policy.
//!
//! Logs written by several threads are often a little out of order. A row is held until the
//! newest timestamp seen is `window` past it, so disorder up to `window` is repaired; a row
//! older than one already released cannot be placed and is malformed ("timestamp goes
//! backwards"). Memory is the rows of one window, never the whole trace.

use super::error::TraceError;
use super::reader::{RowReader, TraceRow};
use super::spec::OnError;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// At most this many rows wait in the buffer whatever the window (memory guard).
const MAX_BUFFERED: usize = 1 << 20;

struct ByTime(TraceRow);

impl PartialEq for ByTime {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ByTime {}
impl PartialOrd for ByTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByTime {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0.at_ns, self.0.line).cmp(&(other.0.at_ns, other.0.line))
    }
}

/// Apply the malformed-row policy: `Ok` to go on (the row was counted), `Err` to stop.
pub(crate) fn on_malformed(
    policy: OnError,
    error: TraceError,
    skipped: &mut u64,
) -> Result<(), TraceError> {
    match (policy, &error) {
        (OnError::Skip, TraceError::Row { .. }) => {
            *skipped += 1;
            Ok(())
        }
        _ => Err(error),
    }
}

/// Time-ordered rows of one pass over a log file.
pub struct OrderedRows {
    reader: RowReader,
    heap: BinaryHeap<Reverse<ByTime>>,
    window_ns: u64,
    newest: u64,
    released: Option<(u64, u64)>,
    policy: OnError,
    skipped: u64,
    eof: bool,
}

impl OrderedRows {
    /// Order the rows of `reader`, repairing disorder up to `window_ns`.
    pub fn new(reader: RowReader, window_ns: u64, policy: OnError) -> Self {
        OrderedRows {
            reader,
            heap: BinaryHeap::new(),
            window_ns,
            newest: 0,
            released: None,
            policy,
            skipped: 0,
            eof: false,
        }
    }

    /// Malformed rows skipped so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Rows waiting in the reorder buffer.
    pub fn buffered(&self) -> usize {
        self.heap.len()
    }

    /// The next row in time order, `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<TraceRow>, TraceError> {
        loop {
            if let Some(Reverse(top)) = self.heap.peek() {
                let ripe = self.newest.saturating_sub(top.0.at_ns) >= self.window_ns;
                if self.eof || ripe || self.heap.len() >= MAX_BUFFERED {
                    let Some(Reverse(ByTime(row))) = self.heap.pop() else {
                        continue;
                    };
                    self.released = Some((row.at_ns, row.line));
                    return Ok(Some(row));
                }
            }
            if self.eof {
                return Ok(None);
            }
            match self.reader.next_row() {
                None => self.eof = true,
                Some(Err(e)) => on_malformed(self.policy, e, &mut self.skipped)?,
                Some(Ok(row)) => match self.released {
                    Some((at, line)) if row.at_ns < at => {
                        let e = TraceError::Row {
                            file: self.reader_file(),
                            line: row.line,
                            message: format!(
                                "timestamp goes backwards by {} (line {line} was later), more than the reorder window of {} (`traffic.trace.reorder_window`)",
                                human(at - row.at_ns),
                                human(self.window_ns)
                            ),
                        };
                        on_malformed(self.policy, e, &mut self.skipped)?;
                    }
                    _ => {
                        self.newest = self.newest.max(row.at_ns);
                        self.heap.push(Reverse(ByTime(row)));
                    }
                },
            }
        }
    }

    fn reader_file(&self) -> std::path::PathBuf {
        self.reader.file().to_path_buf()
    }
}

/// A nanosecond span as the user writes durations.
fn human(ns: u64) -> String {
    spillway_core::time::duration_text::format_duration_text(spillway_core::Duration::from_nanos(
        ns,
    ))
}
