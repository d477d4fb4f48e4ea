//! Bad input: malformed rows, disorder, missing columns, empty and missing files, bad
//! trace blocks — each named with its file and line.

use super::*;

#[test]
fn small_disorder_is_reordered_and_large_disorder_is_located() {
    let path = scratch("disorder.csv", "t,in,out\n0,1,1\n1.0,1,1\n0.8,1,1\n2,1,1\n");
    let a = arrivals(
        &load(&csv_block(&path, "    reorder_window: 500ms\n"), "1h"),
        1,
    );
    assert_eq!(
        a.iter().map(|x| x.at.as_nanos()).collect::<Vec<_>>(),
        [0, 800_000_000, 1_000_000_000, 2_000_000_000]
    );
    let path = scratch("disorder2.csv", "t,in,out\n0,1,1\n5,1,1\n9,1,1\n1,1,1\n");
    let err = stats_of(&load(&csv_block(&path, "    reorder_window: 1s\n"), "1h")).unwrap_err();
    let shown = err.to_string();
    assert_eq!(err.line(), 5, "{shown}");
    assert!(
        shown.contains("disorder2.csv:5:") && shown.contains("backwards"),
        "{shown}"
    );
    // In the user's units, not raw nanoseconds.
    assert!(
        shown.contains("reorder window of 1s") && !shown.contains(" ns"),
        "{shown}"
    );
}

#[test]
fn malformed_rows_stop_with_file_and_line_or_are_skipped_and_counted() {
    let body = "t,in,out\n0,1,1\n1,abc,1\n2,1\n3,1,1\n";
    let path = scratch("malformed.csv", body);
    let err = stats_of(&load(&csv_block(&path, ""), "1h")).unwrap_err();
    assert!(matches!(err, TraceError::Row { line: 3, .. }), "{err}");
    assert!(
        err.to_string().contains("malformed.csv:3:") && err.to_string().contains("`in`"),
        "{err}"
    );
    let s = load(&csv_block(&path, "    on_error: skip\n"), "1h");
    let st = stats_of(&s).expect("skips");
    assert_eq!((st.rows, st.skipped), (2, 2));
    let path = scratch("short.csv", "t,in,out\n0,1,1\n2,1\n");
    let err = stats_of(&load(&csv_block(&path, ""), "1h")).unwrap_err();
    assert!(
        err.to_string().contains("short.csv:3:") && err.to_string().contains("missing field `out`"),
        "{err}"
    );
}

#[test]
fn a_missing_mapped_column_and_an_empty_file_are_named() {
    let path = scratch("cols.csv", "time,in,out\n0,1,1\n");
    let err = stats_of(&load(&csv_block(&path, ""), "1h")).unwrap_err();
    let shown = err.to_string();
    // The line is not quoted: a file given as a trace by mistake may be a key file.
    assert!(
        shown.contains("cols.csv:1:") && shown.contains("`t`") && shown.contains("3 columns"),
        "{shown}"
    );
    assert!(!shown.contains("time, in"), "{shown}");
    for (name, body, line) in [("empty.csv", "", 1), ("header-only.csv", "t,in,out\n", 2)] {
        let path = scratch(name, body);
        let err = stats_of(&load(&csv_block(&path, ""), "1h")).unwrap_err();
        assert!(matches!(err, TraceError::Empty { .. }), "{err}");
        assert_eq!(err.line(), line);
        assert!(
            err.to_string().contains(name) && err.to_string().contains("empty"),
            "{err}"
        );
    }
}

#[test]
fn a_missing_file_says_where_to_get_it() {
    let block = "    path: nowhere/azure.csv\n    format: azure\n    get_from: https://github.com/Azure/AzurePublicDataset\n";
    let err = stats_of(&load(block, "1h")).unwrap_err();
    let shown = err.to_string();
    assert!(matches!(err, TraceError::NotFound { .. }));
    assert!(
        shown.contains("nowhere/azure.csv")
            && shown.contains("AzurePublicDataset")
            // Which flag (if any) replaces the path is the command's to say.
            && !shown.contains("--trace"),
        "{shown}"
    );
}

#[test]
fn bad_trace_blocks_are_located_scenario_errors() {
    let errors = scenario_errors("    path: x.csv\n    format: parquet\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].line, errors[0].field.as_str()),
        (13, "traffic.trace.format")
    );
    assert!(
        errors[0]
            .message
            .contains("`azure`, `burstgpt`, `servegen` or `csv`")
    );
    let errors = scenario_errors(
        "    path: x.csv\n    format: csv\n    columns: { time: t, input_tokens: i, output_tokens: o }\n    time_unit: fortnights\n",
    );
    assert_eq!(errors[0].field, "traffic.trace.time_unit", "{errors:?}");
    assert!(errors[0].message.contains("`ms`"), "{}", errors[0]);
    let errors = scenario_errors(
        "    path: x.csv\n    format: csv\n    columns: { time: t, input_tokens: i, output_tokens: o }\n    time_unit: \"%Y-%q\"\n",
    );
    assert!(errors[0].message.contains("%q"), "{}", errors[0]);
    let errors = scenario_errors("    path: x.csv\n    format: servegen\n");
    assert!(errors[0].message.contains("tokens"), "{}", errors[0]);
    let errors = scenario_errors("    path: x.csv\n    format: azure\n    on_error: ignore\n");
    assert_eq!(errors[0].field, "traffic.trace.on_error");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any rows under a valid header (or junk instead of one) give arrivals or a located
        /// error, never a panic.
        #[test]
        fn arbitrary_trace_files(body in "[0-9a-z,.:%\\- \r\n]{0,200}", format in 0usize..3, header in any::<bool>()) {
            let headers = ["t,in,out\n", "TIMESTAMP,ContextTokens,GeneratedTokens\r\n", "Timestamp,Model,Request tokens,Response tokens\n"];
            let text = if header { format!("{}{body}", headers[format]) } else { body };
            let path = scratch(&format!("fuzz-{format}.csv"), &text);
            let block = match format {
                0 => csv_block(&path, "    on_error: skip\n"),
                1 => format!("    path: {}\n    format: azure\n", path.display()),
                _ => format!("    path: {}\n    format: burstgpt\n", path.display()),
            };
            if let Err(e) = stats_of(&load(&block, "1h")) {
                prop_assert!(e.to_string().contains("fuzz-"), "{e}");
            }
        }
    }
}
