//! Every format parses its real file (skipped loudly when absent); fidelity figures match
//! the traces' README; timestamps are exact.

use super::*;

#[test]
fn azure_traces_match_their_readme_figures() {
    // (file, rows, span, mean rps, peak/s, peak/min, cv s, cv min, in mean, in p99, out mean, out p99, tok/min)
    let expected = [
        (
            "azure_llm_2023_code.csv",
            8_819,
            3_436.0,
            2.57,
            67,
            622,
            2.27,
            1.03,
            2_048.0,
            7_436,
            27.9,
            252,
            1_326_349,
        ),
        (
            "azure_llm_2023_conv.csv",
            19_366,
            3_502.0,
            5.53,
            19,
            506,
            0.49,
            0.25,
            1_155.0,
            4_142,
            211.1,
            601,
            809_197,
        ),
    ];
    for (
        file,
        rows,
        span,
        rps,
        peak_s,
        peak_m,
        cv_s,
        cv_m,
        in_mean,
        in_p99,
        out_mean,
        out_p99,
        tpm,
    ) in expected
    {
        let Some(path) = shared(file) else { continue };
        let s = load(
            &format!("    path: {}\n    format: azure\n", path.display()),
            "2h",
        );
        let st = stats_of(&s).expect("parses");
        assert_eq!(st.rows, rows, "{file}");
        close(st.span_s, span, 0.5, "span");
        close(st.mean_rps, rps, 0.005, "mean rps");
        assert_eq!((st.peak_per_s, st.peak_per_min), (peak_s, peak_m), "{file}");
        close(st.cv_per_s, cv_s, 0.005, "cv per s");
        close(st.cv_per_min, cv_m, 0.005, "cv per min");
        close(st.input_mean, in_mean, 0.5, "input mean");
        close(st.output_mean, out_mean, 0.05, "output mean");
        assert_eq!((st.input_p99, st.output_p99), (in_p99, out_p99), "{file}");
        assert_eq!(st.peak_tokens_per_min, tpm, "{file}");
        assert_eq!(st.skipped, 0);
    }
}

#[test]
fn azure_timestamps_are_exact_to_100ns() {
    let Some(path) = shared("azure_llm_2023_code.csv") else {
        return;
    };
    let s = load(
        &format!("    path: {}\n    format: azure\n", path.display()),
        "1m",
    );
    let a = arrivals(&s, 1);
    // Rows 1 and 2: 18:17:03.9799600 and 18:17:04.0319600 (first row is time 0).
    assert_eq!(a[0].at, Time::ZERO);
    assert_eq!(a[1].at.as_nanos(), 52_000_000);
    assert_eq!((a[0].input_tokens, a[0].output_tokens), (4_808, 10));
}

#[test]
fn burstgpt_six_and_eight_column_layouts_parse() {
    for (file, span, failed) in [
        ("burstgpt_1_first400.csv", 37_269.0, 17),
        ("burstgpt_3_first400.csv", 41_453.0, 0),
    ] {
        let Some(path) = shared(file) else { continue };
        let s = load(
            &format!("    path: {}\n    format: burstgpt\n", path.display()),
            "1d",
        );
        let st = stats_of(&s).expect("parses");
        assert_eq!(st.rows, 400, "{file}");
        close(st.span_s, span, 0.5, "span");
        let zero_out = arrivals(&s, 1)
            .iter()
            .filter(|a| a.output_tokens == 0)
            .count() as u64;
        assert_eq!(st.failed, zero_out, "zero-token rows are the failures");
        if failed > 0 {
            assert_eq!(st.failed, failed);
        }
    }
}

#[test]
fn burstgpt_sessions_are_users() {
    let Some(path) = shared("burstgpt_3_first400.csv") else {
        return;
    };
    let s = load(
        &format!(
            "    path: {}\n    format: burstgpt\n    users: {{ count: 1 }}\n",
            path.display()
        ),
        "1d",
    );
    // 394 rows in 135 sessions, 6 API rows without a session → the one Zipf user.
    assert_eq!(stats_of(&s).expect("parses").users, 136);
}

#[test]
fn servegen_windows_generate_each_clients_count() {
    let Some(path) = shared("servegen_deepseek-r1_client_windows_1d.csv") else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("readable");
    let mut expected = 0u64;
    let mut clients = std::collections::BTreeSet::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[1].parse::<u64>().expect("window") >= 7_200 {
            continue; // the first two hours keep the test quick
        }
        expected += (f[2].parse::<f64>().expect("rate") * 600.0).round() as u64;
        clients.insert(f[0].to_string());
    }
    let block = format!(
        "    path: {}\n    format: servegen\n    tokens: {{ input: {{ median: 500, sigma: 1 }}, output: {{ median: 200, sigma: 0.5 }} }}\n",
        path.display()
    );
    let s = load(&block, "2h");
    let st = stats_of(&s).expect("parses");
    assert_eq!(st.rows, expected);
    assert_eq!(
        st.users,
        clients.len() as u64,
        "one user per client (tenant)"
    );
    // Determinism: the same seed replays the same arrivals.
    let a: Vec<_> = ArrivalStream::new(&s, 9, Duration::from_secs(1_200)).collect();
    let b: Vec<_> = ArrivalStream::new(&s, 9, Duration::from_secs(1_200)).collect();
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn the_sample_scenario_replays_deterministically() {
    let path = workspace().join("scenarios/trace-sample.yaml");
    let s = spillway_sim::scenario::load(&path).expect("valid");
    let a = arrivals(&s, 3);
    assert_eq!(a.len(), 893);
    assert_eq!(a, arrivals(&s, 3));
    assert!(a.windows(2).all(|w| w[0].at <= w[1].at));
    let groups: std::collections::BTreeSet<u32> = a.iter().map(|x| x.group).collect();
    assert_eq!(
        groups.len(),
        3,
        "class and feature columns pick the mix entry"
    );
}

#[test]
fn crlf_without_final_newline_and_bom_parse() {
    let path = scratch("crlf.csv", "\u{feff}t,in,out\r\n1.5,10,5\r\n2.25,11,6");
    let s = load(&csv_block(&path, ""), "1h");
    let a = arrivals(&s, 1);
    assert_eq!(a.len(), 2);
    assert_eq!(a[1].at.as_nanos(), 750_000_000);
    assert_eq!(a[1].output_tokens, 6);
}
