//! ServeGen per-client rate windows → per-tenant arrivals.
//!
//! Each row gives one client's mean rate in one window and the fitted shape of its
//! inter-arrival distribution (Gamma or Weibull). As in ServeGen's own generator, a client
//! sends `n = round(rate × window)` requests in the window, with inter-arrival times drawn
//! from the fitted family and rescaled so they span the window exactly: only the shape
//! matters. Rescaling needs the sum first, so each client's draws are made twice from the
//! same RNG state (a clone), keeping memory O(clients) instead of O(requests).
//!
//! Each client (tenant) has its own stream (`Concern::TraceArrivals`, index = client id), so
//! adding a client never shifts another's arrivals.

use super::error::TraceError;
use super::ordered::on_malformed;
use super::reader::{TraceFile, TraceRow, capped, missing_column};
use super::spec::OnError;
use crate::rng::{Concern, stream};
use crate::traffic::{exp1, standard_normal, unit_f64};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Fitted inter-arrival family.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Family {
    Gamma(f64),
    Weibull(f64),
}

impl Family {
    /// One unit-scale draw (the scale cancels out in the rescaling).
    fn draw(self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Family::Gamma(shape) => gamma(rng, shape),
            Family::Weibull(shape) => exp1(rng).powf(1.0 / shape),
        }
    }
}

/// One client's requests in one window, generated lazily.
struct ClientWindow {
    client: u64,
    family: Family,
    rng: ChaCha8Rng,
    start_ns: u64,
    remaining: u64,
    cumulative: f64,
    total: f64,
}

impl ClientWindow {
    fn next_at(&mut self, window_ns: u64) -> u64 {
        self.cumulative += self.family.draw(&mut self.rng);
        self.remaining -= 1;
        let frac = if self.total > 0.0 {
            (self.cumulative / self.total).min(1.0)
        } else {
            1.0
        };
        let offset = (frac * window_ns as f64) as u64;
        self.start_ns + offset.min(window_ns.saturating_sub(1))
    }
}

struct WindowRow {
    line: u64,
    client: u64,
    start_ns: u64,
    count: u64,
    family: Family,
}

/// Arrivals of every client, window after window, in time order.
pub struct ServeGenRows {
    file: PathBuf,
    reader: csv::Reader<BufReader<TraceFile>>,
    record: csv::StringRecord,
    columns: [usize; 5],
    window_ns: u64,
    seed: u64,
    policy: OnError,
    skipped: u64,
    lookahead: Option<WindowRow>,
    streams: BTreeMap<u64, ChaCha8Rng>,
    active: Vec<ClientWindow>,
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    eof: bool,
}

/// One client's rate above this is a corrupt row, not traffic (it would generate billions of
/// requests per window).
const MAX_RATE_RPS: f64 = 100_000.0;

const COLUMNS: [&str; 5] = [
    "client_id",
    "window_start_s",
    "rate_rps",
    "iat_dist",
    "iat_shape",
];

impl ServeGenRows {
    /// Open a ServeGen windows file.
    pub fn open(
        path: &Path,
        window_ns: u64,
        seed: u64,
        policy: OnError,
        hint: Option<&str>,
    ) -> Result<Self, TraceError> {
        let file = spillway_core::input_file::open_regular(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TraceError::NotFound {
                file: path.to_path_buf(),
                hint: hint.map(str::to_string),
            },
            _ => TraceError::Io {
                file: path.to_path_buf(),
                message: e.to_string(),
            },
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(BufReader::new(capped(file)));
        let header = reader
            .headers()
            .map_err(|e| TraceError::Io {
                file: path.to_path_buf(),
                message: e.to_string(),
            })?
            .clone();
        if header.iter().all(|h| h.trim().is_empty()) {
            return Err(TraceError::Empty {
                file: path.to_path_buf(),
                line: 1,
                message: "empty trace: expected a header line for the `servegen` format".into(),
            });
        }
        let mut columns = [0; 5];
        for (slot, name) in columns.iter_mut().zip(COLUMNS) {
            *slot = header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| TraceError::Header {
                    file: path.to_path_buf(),
                    message: missing_column("servegen", name, header.len()),
                })?;
        }
        Ok(ServeGenRows {
            file: path.to_path_buf(),
            reader,
            record: csv::StringRecord::new(),
            columns,
            window_ns,
            seed,
            policy,
            skipped: 0,
            lookahead: None,
            streams: BTreeMap::new(),
            active: Vec::new(),
            heap: BinaryHeap::new(),
            eof: false,
        })
    }

    /// Malformed rows skipped so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The next generated request (tokens 0: the caller draws them), `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<TraceRow>, TraceError> {
        loop {
            if let Some(Reverse((at, client, i))) = self.heap.pop() {
                let w = &mut self.active[i];
                if w.remaining > 0 {
                    let next = w.next_at(self.window_ns);
                    self.heap.push(Reverse((next, client, i)));
                }
                return Ok(Some(generated(at, client)));
            }
            self.retire_window();
            if !self.start_window()? {
                return Ok(None);
            }
        }
    }

    /// Give the finished window's RNG streams back to their clients.
    fn retire_window(&mut self) {
        for w in self.active.drain(..) {
            self.streams.insert(w.client, w.rng);
        }
    }

    /// Load every row of the next window and schedule each client's first request.
    fn start_window(&mut self) -> Result<bool, TraceError> {
        let Some(first) = self.read_window_row()? else {
            return Ok(false);
        };
        let start = first.start_ns;
        let mut rows = vec![first];
        loop {
            match self.read_window_row()? {
                Some(r) if r.start_ns == start => rows.push(r),
                Some(r) if r.start_ns < start => {
                    let e = TraceError::Row {
                        file: self.file.clone(),
                        line: r.line,
                        message: "window_start_s goes backwards: rows must be sorted by window"
                            .into(),
                    };
                    on_malformed(self.policy, e, &mut self.skipped)?;
                }
                other => {
                    self.lookahead = other;
                    break;
                }
            }
        }
        for r in rows.into_iter().filter(|r| r.count > 0) {
            let seed = self.seed;
            let rng = self
                .streams
                .remove(&r.client)
                .unwrap_or_else(|| stream(seed, Concern::TraceArrivals, r.client as u32));
            let mut probe = rng.clone();
            let total: f64 = (0..r.count).map(|_| r.family.draw(&mut probe)).sum();
            let mut w = ClientWindow {
                client: r.client,
                family: r.family,
                rng,
                start_ns: r.start_ns,
                remaining: r.count,
                cumulative: 0.0,
                total,
            };
            let at = w.next_at(self.window_ns);
            self.active.push(w);
            self.heap
                .push(Reverse((at, r.client, self.active.len() - 1)));
        }
        Ok(true)
    }

    fn read_window_row(&mut self) -> Result<Option<WindowRow>, TraceError> {
        if let Some(r) = self.lookahead.take() {
            return Ok(Some(r));
        }
        while !self.eof {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => self.eof = true,
                Err(e) => {
                    return Err(TraceError::Io {
                        file: self.file.clone(),
                        message: e.to_string(),
                    });
                }
                Ok(true) => {
                    let line = self.record.position().map_or(0, |p| p.line());
                    match self.parse(line) {
                        Ok(r) => return Ok(Some(r)),
                        Err(message) => {
                            let e = TraceError::Row {
                                file: self.file.clone(),
                                line,
                                message,
                            };
                            on_malformed(self.policy, e, &mut self.skipped)?;
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    fn parse(&self, line: u64) -> Result<WindowRow, String> {
        let get = |k: usize| {
            self.record
                .get(self.columns[k])
                .map(str::trim)
                .ok_or_else(|| {
                    format!(
                        "missing field `{}`: the row has {} fields",
                        COLUMNS[k],
                        self.record.len()
                    )
                })
        };
        let client: u64 = get(0)?
            .parse()
            .map_err(|_| "`client_id` must be a whole number".to_string())?;
        let start_s: u64 = get(1)?
            .parse()
            .map_err(|_| "`window_start_s` must be whole seconds".to_string())?;
        let rate: f64 = get(2)?
            .parse()
            .map_err(|_| "`rate_rps` must be a number".to_string())?;
        let shape: f64 = get(4)?
            .parse()
            .map_err(|_| "`iat_shape` must be a number".to_string())?;
        if !(rate.is_finite() && (0.0..=MAX_RATE_RPS).contains(&rate)) {
            return Err(format!(
                "`rate_rps` must be between 0 and {MAX_RATE_RPS}, got {rate}"
            ));
        }
        if !(shape.is_finite() && shape > 0.0) {
            return Err(format!("`iat_shape` must be > 0, got {shape}"));
        }
        let family = match get(3)? {
            "Gamma" => Family::Gamma(shape),
            "Weibull" => Family::Weibull(shape),
            other => {
                return Err(format!(
                    "`iat_dist` must be `Gamma` or `Weibull`, got `{other}`"
                ));
            }
        };
        let count = (rate * self.window_ns as f64 / 1e9).round() as u64;
        Ok(WindowRow {
            line,
            client,
            start_ns: start_s.saturating_mul(1_000_000_000),
            count,
            family,
        })
    }
}

fn generated(at_ns: u64, client: u64) -> TraceRow {
    TraceRow {
        line: 0,
        at_ns,
        input_tokens: 0,
        output_tokens: 0,
        user: Some(client.to_string()),
        class: None,
        feature: None,
        model: None,
        failed: false,
    }
}

/// Gamma(shape, 1) by Marsaglia–Tsang; shapes below 1 by the `U^(1/shape)` boost.
fn gamma(rng: &mut ChaCha8Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = unit_f64(rng);
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = standard_normal(rng);
        let v = (1.0 + c * z).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - unit_f64(rng);
        if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_and_weibull_draws_have_the_right_mean() {
        let mut rng = stream(3, Concern::TraceArrivals, 0);
        for (family, mean) in [
            (Family::Gamma(0.5), 0.5),
            (Family::Gamma(2.0), 2.0),
            (Family::Weibull(1.0), 1.0),
            (Family::Weibull(2.0), 0.886_226_9),
        ] {
            let n = 40_000;
            let m = (0..n).map(|_| family.draw(&mut rng)).sum::<f64>() / n as f64;
            assert!((m - mean).abs() < 0.05 * mean, "{family:?}: {m}");
        }
    }
}
