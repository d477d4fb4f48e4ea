//! How long drawing one chart takes (PNG + SVG), for the two shapes a report draws most: a
//! latency CDF (two policies × 104 points) and a traffic chart (four lines × 300 points).

use criterion::{Criterion, criterion_group, criterion_main};
use spillway_report::plot::{LineChart, Series, render};
use std::hint::black_box;

fn chart(lines: usize, points: usize) -> LineChart {
    let mut chart = LineChart::new(
        "bench",
        "Benchmark chart",
        "time (s)",
        "requests per second",
    );
    chart.series = (0..lines)
        .map(|l| Series {
            name: format!("line {l}"),
            color: l,
            points: (0..points)
                .map(|i| (i as f64, ((i * 7919 + l * 104_729) % 97) as f64))
                .collect(),
            dashed: false,
            halo: false,
        })
        .collect();
    chart
}

fn render_charts(c: &mut Criterion) {
    let cdf = chart(2, 104);
    let traffic = chart(4, 300);
    c.bench_function("render latency CDF (png+svg)", |b| {
        b.iter(|| render(black_box(&cdf)))
    });
    c.bench_function("render traffic chart (png+svg)", |b| {
        b.iter(|| render(black_box(&traffic)))
    });
}

criterion_group!(benches, render_charts);
criterion_main!(benches);
