//! Users, window, speed-up, loop, rate scaling, and independence from generated groups.

use super::*;

#[test]
fn rows_without_users_get_seeded_zipf_users() {
    let rows: String = (0..2_000).map(|i| format!("{i},10,5\n")).collect();
    let path = scratch("zipf.csv", &format!("t,in,out\n{rows}"));
    let s = load(
        &csv_block(&path, "    users: { count: 50, zipf: 1.0 }\n"),
        "1h",
    );
    let a = arrivals(&s, 1);
    let b = arrivals(&s, 2);
    assert_ne!(
        a.iter().map(|x| x.user).collect::<Vec<_>>(),
        b.iter().map(|x| x.user).collect::<Vec<_>>()
    );
    let count = |k| a.iter().filter(|x| x.user == k).count();
    assert!(a.iter().all(|x| x.user < 50));
    assert!(
        count(0) > 3 * count(9),
        "user 0 ({}) outweighs user 9 ({})",
        count(0),
        count(9)
    );
}

#[test]
fn window_speedup_loop_and_rate_scaling() {
    let rows: String = (0..100).map(|i| format!("{i},10,5\n")).collect();
    let path = scratch("ctl.csv", &format!("t,in,out\n{rows}"));
    let times = |extra: &str, dur: &str| -> Vec<u64> {
        arrivals(&load(&csv_block(&path, extra), dur), 1)
            .iter()
            .map(|a| a.at.as_nanos())
            .collect()
    };
    let windowed = times("    start: 10s\n    end: 20s\n", "1h");
    assert_eq!(
        windowed,
        (0..10).map(|i| i * 1_000_000_000).collect::<Vec<_>>()
    );
    let fast = times("    speedup: 4\n", "1h");
    assert_eq!(fast[4], 1_000_000_000);
    let looped = times("    loop: true\n", "250s");
    assert_eq!(looped.len(), 250, "period = 99 s span + 1 s mean gap");
    assert_eq!(looped[100], 100_000_000_000);
    let doubled = times("    rate_scale: 2\n    copy_offset: 250ms\n", "1h");
    assert_eq!(doubled.len(), 200);
    assert_eq!(doubled[1], 250_000_000);
    assert!(doubled.windows(2).all(|w| w[0] <= w[1]));
    let thinned = times("    rate_scale: 0.5\n", "1h");
    assert!((30..70).contains(&thinned.len()), "{}", thinned.len());
    assert_eq!(
        thinned,
        times("    rate_scale: 0.5\n", "1h"),
        "seeded thinning"
    );
}

#[test]
fn trace_arrivals_do_not_shift_group_arrivals() {
    // Adding a trace next to a group leaves the group's own arrivals untouched.
    let path = scratch("side.csv", "t,in,out\n0.5,1,1\n1.5,1,1\n");
    let base = crate::BASE;
    let with_trace = base.replace(
        "layers:\n  - name: per-user",
        &format!(
            "  trace:\n{}layers:\n  - name: per-user",
            csv_block(&path, "")
        ),
    );
    let plain = parse(Path::new("/tmp/a.yaml"), base).expect("valid");
    let mixed = parse(Path::new("/tmp/b.yaml"), &with_trace).unwrap_or_else(|e| panic!("{e}"));
    let group_only: Vec<Arrival> = arrivals(&mixed, 1)
        .into_iter()
        .filter(|a| a.group == 0)
        .collect();
    assert_eq!(group_only, arrivals(&plain, 1));
    assert_eq!(
        arrivals(&mixed, 1).iter().filter(|a| a.group == 1).count(),
        2
    );
}

#[test]
fn memory_holds_a_window_of_rows_not_the_trace() {
    // 100,000 rows at 100/s, slightly out of order, tripled with 1 s offsets: the rows held at
    // any time are bounded by the reorder window and the copies' span, not by the length.
    let rows: String = (0..100_000u64)
        .map(|i| format!("{},{},1\n", i * 10 + (i % 3) * 4, 1 + i % 50))
        .collect();
    let path = scratch("long.csv", &format!("t,in,out\n{rows}"));
    let block = csv_block(
        &path,
        "    reorder_window: 100ms\n    rate_scale: 3\n    copy_offset: 1s\n",
    )
    .replace("time_unit: s", "time_unit: ms");
    let s = load(&block, "1d");
    let spec = s.trace.as_ref().expect("trace");
    let mut source =
        spillway_sim::traffic::trace::TraceSource::new(spec, 1, Time::from_secs(86_400));
    let (mut count, mut peak) = (0u64, 0usize);
    while let Some(a) = source.next_arrival().expect("replays") {
        count += 1;
        peak = peak.max(source.buffered_rows());
        assert!(a.at.as_nanos() < 86_400_000_000_000);
    }
    assert_eq!(count, 300_000);
    assert!(peak <= 700, "peak rows held: {peak}");
}
