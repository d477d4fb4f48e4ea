//! Trace replay rate: rows per second of wall time through the whole pipeline (csv reader,
//! reorder buffer, window, rate scaling, users and mix → `Arrival`s), on generated files in
//! the mapped-`csv` layout (millisecond times, a user column) and the Azure layout (7-digit
//! date-times, Zipf users). Memory does not grow with the file: only rows/s is measured here.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spillway_sim::scenario::{Scenario, parse};
use spillway_sim::traffic::ArrivalStream;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};

const ROWS: u64 = 200_000;

fn generate(name: &str, header: &str, row: impl Fn(u64) -> String) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let mut text = String::with_capacity(64 * ROWS as usize);
    text.push_str(header);
    for i in 0..ROWS {
        text.push_str(&row(i));
    }
    std::fs::write(&path, text).expect("write the generated trace");
    path
}

fn scenario(trace_block: &str) -> Scenario {
    let text = format!(
        "seed: 1
duration: 30d
provider: {{ name: p, rpm: 600, tpm: 1000000, concurrency: 8, latency: {{ base: 1ms, per_output_token: 1ms }}, price: {{ input_usd_per_mtok: 0, output_usd_per_mtok: 0 }} }}
traffic:
  trace:
{trace_block}
policies:
  - name: none
"
    );
    parse(Path::new("bench.yaml"), &text).unwrap_or_else(|e| panic!("{e}"))
}

fn replay(c: &mut Criterion) {
    let csv = generate("bench-trace.csv", "ts_ms,user,prompt,completion\n", |i| {
        // ~20 req/s with a little jitter; 5,000 users.
        format!(
            "{},u{},{},{}\n",
            i * 50 + i % 7,
            (i * 7_919) % 5_000,
            100 + i % 900,
            10 + i % 300
        )
    });
    let azure = generate(
        "bench-azure.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\r\n",
        |i| {
            let ns = i * 50_000_000;
            let (s, frac) = (ns / 1_000_000_000, (ns % 1_000_000_000) / 100);
            let mut row = String::new();
            let _ = write!(
                row,
                "2023-11-{:02} {:02}:{:02}:{:02}.{frac:07},{},{}\r\n",
                16 + s / 86_400,
                (s / 3_600) % 24,
                (s / 60) % 60,
                s % 60,
                100 + i % 900,
                10 + i % 300
            );
            row
        },
    );
    let cases = [
        (
            "csv (ms, user column)",
            scenario(&format!(
                "    path: {}\n    format: csv\n    columns: {{ time: ts_ms, input_tokens: prompt, output_tokens: completion, user: user }}\n    time_unit: ms\n",
                csv.display()
            )),
        ),
        (
            "azure (date-times, zipf users)",
            scenario(&format!(
                "    path: {}\n    format: azure\n    users: {{ count: 5000 }}\n",
                azure.display()
            )),
        ),
    ];
    let mut group = c.benchmark_group("trace replay");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(10);
    for (name, s) in &cases {
        let count = ArrivalStream::new(s, 1, s.duration).count() as u64;
        assert_eq!(count, ROWS, "{name}: every row replays");
        assert!(ArrivalStream::new(s, 1, s.duration).trace_error().is_none());
        group.bench_function(*name, |b| {
            b.iter(|| black_box(ArrivalStream::new(s, 1, s.duration).count()))
        });
    }
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
