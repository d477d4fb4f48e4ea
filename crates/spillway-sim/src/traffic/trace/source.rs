//! A trace as a stream of [`Arrival`]s: rows in order → window → speed-up → loop → rate
//! scaling → users and mix.
//!
//! Simulated time 0 is the trace's first timestamp plus `window.start`; a row at trace offset
//! `r` arrives at `(r − start + pass × period) × 1e6 / speedup_ppm` ns, in integers. Looping
//! re-reads the file (still one reader at a time), each pass shifted by one period: the
//! replayed span plus its mean gap. Rate scaling keeps copy `c` of each row with probability
//! `min(1, factor − c)` (one thinning draw only when that is below 1) and shifts it by
//! `c × copy_offset`; copies wait in a heap until the reader has passed their time, so memory
//! is the rows of one `copy_offset × copies` span.

use super::assign::Assigner;
use super::error::TraceError;
use super::ordered::{OrderedRows, on_malformed};
use super::reader::{RowReader, TraceRow};
use super::servegen::ServeGenRows;
use super::spec::{Speedup, TraceFormat, TraceSpec};
use crate::rng::{Concern, stream};
use crate::traffic::{Arrival, TokenSizes, unit_f64};
use rand_chacha::ChaCha8Rng;
use spillway_core::Time;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

enum Rows {
    Log(OrderedRows),
    ServeGen(ServeGenRows),
}

impl Rows {
    fn next_row(&mut self) -> Result<Option<TraceRow>, TraceError> {
        match self {
            Rows::Log(r) => r.next_row(),
            Rows::ServeGen(r) => r.next_row(),
        }
    }
    fn skipped(&self) -> u64 {
        match self {
            Rows::Log(r) => r.skipped(),
            Rows::ServeGen(r) => r.skipped(),
        }
    }
    fn buffered(&self) -> usize {
        match self {
            Rows::Log(r) => r.buffered(),
            Rows::ServeGen(_) => 0,
        }
    }
}

/// A copy of a row waiting for its time: (simulated ns, sequence, copy index, row).
type QueuedCopy = Reverse<(u64, u64, u32, Box<TraceRow>)>;

/// Per-pass bookkeeping for looping.
#[derive(Default)]
struct Pass {
    index: u64,
    offset_ns: u64,
    rows: u64,
    first: Option<u64>,
    last: u64,
}

/// Arrivals replayed from a trace, in time order, up to a horizon.
pub struct TraceSource {
    spec: TraceSpec,
    seed: u64,
    horizon_ns: u64,
    rows: Option<Rows>,
    origin: Option<u64>,
    pass: Pass,
    exhausted: bool,
    copies: BinaryHeap<QueuedCopy>,
    seq: u64,
    read_up_to: u64,
    thinning: ChaCha8Rng,
    sizes: ChaCha8Rng,
    assigner: Assigner,
    skipped: u64,
}

impl TraceSource {
    /// Replay `spec` under `seed`, up to `horizon` of simulated time. The file is opened at the
    /// first read, so errors come from [`TraceSource::next_arrival`].
    pub fn new(spec: &TraceSpec, seed: u64, horizon: Time) -> Self {
        TraceSource {
            spec: spec.clone(),
            seed,
            horizon_ns: horizon.as_nanos(),
            rows: None,
            origin: matches!(spec.format, TraceFormat::ServeGen { .. }).then_some(0),
            pass: Pass::default(),
            exhausted: false,
            copies: BinaryHeap::new(),
            seq: 0,
            read_up_to: 0,
            thinning: stream(seed, Concern::TraceThinning, 0),
            sizes: stream(seed, Concern::TraceSizes, 0),
            assigner: Assigner::new(spec, seed),
            skipped: 0,
        }
    }

    /// Malformed rows skipped so far (`on_error: skip`).
    pub fn skipped(&self) -> u64 {
        self.skipped + self.rows.as_ref().map_or(0, Rows::skipped)
    }

    /// Rows held in memory right now (reorder buffer and pending rate-scaling copies): bounded
    /// by the reorder window and the copies' span, whatever the trace's length.
    pub fn buffered_rows(&self) -> usize {
        self.copies.len() + self.rows.as_ref().map_or(0, Rows::buffered)
    }

    /// The trace timestamp (ns) that simulated time 0 corresponds to, once known.
    pub fn zero_in_trace_ns(&self) -> Option<u64> {
        self.origin
            .map(|o| o.saturating_add(self.spec.window.start.as_nanos()))
    }

    /// The next arrival, `Ok(None)` once the trace (or the horizon) is done.
    pub fn next_arrival(&mut self) -> Result<Option<Arrival>, TraceError> {
        loop {
            let ripe = self
                .copies
                .peek()
                .is_some_and(|Reverse(top)| self.exhausted || top.0 <= self.read_up_to);
            if ripe {
                let Some(Reverse((at, _, copy, row))) = self.copies.pop() else {
                    continue;
                };
                if at >= self.horizon_ns {
                    continue;
                }
                match self.arrival(at, copy, &row) {
                    Ok(a) => return Ok(Some(a)),
                    Err(e) => on_malformed(self.spec.on_error, e, &mut self.skipped)?,
                }
                continue;
            }
            if self.exhausted {
                return Ok(None);
            }
            self.read_one()?;
        }
    }

    fn arrival(&mut self, at: u64, copy: u32, row: &TraceRow) -> Result<Arrival, TraceError> {
        let located = |message| TraceError::Row {
            file: self.spec.path.clone(),
            line: row.line,
            message,
        };
        let group = self.assigner.group(row).map_err(located)?;
        let user = self
            .assigner
            .user(row.user.as_deref(), copy)
            .map_err(located)?;
        let (input_tokens, output_tokens) = match self.spec.sizes {
            Some(s) if matches!(self.spec.format, TraceFormat::ServeGen { .. }) => (
                TokenSizes::new(&s.input).draw(&mut self.sizes),
                TokenSizes::new(&s.output).draw(&mut self.sizes),
            ),
            _ => (row.input_tokens, row.output_tokens),
        };
        Ok(Arrival {
            at: Time::from_nanos(at),
            user,
            group,
            input_tokens,
            output_tokens,
            failed: row.failed,
        })
    }

    /// Read one row within the window and queue its copies; at the end of the trace (or past
    /// the horizon) mark the source exhausted.
    fn read_one(&mut self) -> Result<(), TraceError> {
        loop {
            let rows = match &mut self.rows {
                Some(rows) => rows,
                None => {
                    if !self.start_pass()? {
                        self.exhausted = true;
                        return Ok(());
                    }
                    continue;
                }
            };
            let Some(row) = rows.next_row()? else {
                self.end_pass();
                continue;
            };
            let origin = *self.origin.get_or_insert(row.at_ns);
            let rel = row.at_ns.saturating_sub(origin);
            let window = self.spec.window;
            if rel < window.start.as_nanos() {
                continue;
            }
            if window.end.is_some_and(|end| rel >= end.as_nanos()) {
                self.end_pass();
                continue;
            }
            self.pass.rows += 1;
            self.pass.first.get_or_insert(rel);
            self.pass.last = rel;
            let trace_ns = (rel - window.start.as_nanos()).saturating_add(self.pass.offset_ns);
            let at = self.spec.speedup.apply(trace_ns);
            if at >= self.horizon_ns {
                self.exhausted = true;
                self.rows = None;
                return Ok(());
            }
            self.read_up_to = at;
            self.queue_copies(at, row);
            return Ok(());
        }
    }

    fn queue_copies(&mut self, at: u64, row: TraceRow) {
        let factor = self.spec.rate_scale.factor;
        let copies = factor.ceil().max(1.0) as u32;
        let offset = self.spec.rate_scale.copy_offset.as_nanos();
        let row = Box::new(row);
        for c in 0..copies {
            let keep = (factor - f64::from(c)).min(1.0);
            if keep < 1.0 && unit_f64(&mut self.thinning) >= keep {
                continue;
            }
            let t = at.saturating_add(offset.saturating_mul(u64::from(c)));
            self.copies.push(Reverse((t, self.seq, c, row.clone())));
            self.seq += 1;
        }
    }

    /// Open the file for the next pass; `false` when there is none.
    fn start_pass(&mut self) -> Result<bool, TraceError> {
        if self.pass.index > 0 && (!self.spec.looped || self.pass.rows == 0) {
            return Ok(false);
        }
        let spec = &self.spec;
        let hint = spec.get_from.as_deref();
        let rows = match &spec.format {
            TraceFormat::ServeGen { window } => Rows::ServeGen(ServeGenRows::open(
                &spec.path,
                window.as_nanos(),
                self.seed.wrapping_add(self.pass.index),
                spec.on_error,
                hint,
            )?),
            format => Rows::Log(OrderedRows::new(
                RowReader::open(&spec.path, format, hint)?,
                spec.reorder_window.as_nanos(),
                spec.on_error,
            )),
        };
        if self.pass.index > 0 {
            let span = self.pass.last.saturating_sub(self.pass.first.unwrap_or(0));
            let gap = match self.pass.rows {
                0 | 1 => 1_000_000_000,
                n => (span / (n - 1)).max(1),
            };
            self.pass.offset_ns = self.pass.offset_ns.saturating_add(span + gap);
            self.pass.rows = 0;
            self.pass.first = None;
        }
        self.pass.index += 1;
        self.rows = Some(rows);
        Ok(true)
    }

    fn end_pass(&mut self) {
        if let Some(rows) = self.rows.take() {
            self.skipped += rows.skipped();
        }
    }
}

/// How far simulated time 0 lies past a whole second of the trace's clock (real time only;
/// under a speed-up the trace's seconds are not the simulation's).
pub(crate) fn stats_alignment(source: &TraceSource, speedup: Speedup) -> u64 {
    match source.zero_in_trace_ns() {
        Some(zero) if speedup == Speedup::REAL_TIME => zero % 1_000_000_000,
        _ => 0,
    }
}
