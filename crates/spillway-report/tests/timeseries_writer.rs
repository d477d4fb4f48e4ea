//! `timeseries.csv` from policies run side by side: the first policy's rows stream, the later
//! ones' are held in scratch files and appended in policy order at commit.

use spillway_report::csv_out::TimeseriesWriter;
use spillway_sim::metrics::TimeseriesRow;

fn row(t_s: u64, offered: u64) -> TimeseriesRow {
    TimeseriesRow {
        t_s,
        offered,
        spend_nano_usd: 1_500_000_007,
        ..TimeseriesRow::default()
    }
}

#[test]
fn interleaved_policies_come_out_in_policy_order_and_leave_no_scratch_file() {
    let dir = std::env::temp_dir().join(format!("spillway-ts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("timeseries.csv");
    let mut w = TimeseriesWriter::create(&path).expect("create");
    for t in 0..3 {
        w.later_row(1, "c", &row(t, 30 + t)).expect("held");
        w.row("a", &row(t, 10 + t)).expect("row");
        w.later_row(0, "b, quoted", &row(t, 20 + t)).expect("held");
    }
    w.commit().expect("commit");
    let text = std::fs::read_to_string(&path).expect("written");
    let lines: Vec<&str> = text.lines().skip(1).collect();
    let policy_of = |line: &str| {
        ["a,", "\"b, quoted\",", "c,"]
            .iter()
            .position(|p| line.starts_with(p))
    };
    let order: Vec<_> = lines.iter().map(|l| policy_of(l)).collect();
    let expected = [0, 0, 0, 1, 1, 1, 2, 2, 2].map(Some);
    assert_eq!(order, expected, "{text}");
    assert!(lines[4].contains(",1,21,"), "{}", lines[4]);
    assert!(lines[0].contains(",1.500000007,"), "{}", lines[0]);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("timeseries.csv")]);
    std::fs::remove_dir_all(&dir).ok();
}
