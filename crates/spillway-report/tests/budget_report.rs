//! A budget run's report, built from hand-written CSVs: spend is charted per budget day
//! against the daily cap, and each API-key budget is read against the key's cap per day.

use spillway_report::build;
use spillway_report::input::RunData;
use std::fmt::Write;
use std::path::PathBuf;

/// Two policies over 40 minutes from 23:40 UTC: $1 a minute, so $20 before midnight and $20
/// after; the run's total ($40) is over the $30 daily cap, no single day is.
fn run_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spillway-report-budget-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect(name);
    write(
        "summary.csv",
        "policy,class,offered,completed\na,all,10,10\nb,all,10,10\n",
    );
    let mut series =
        String::from("policy,t_s,offered,admitted,rejected,upstream_429,queued,spend_usd\n");
    for policy in ["a", "b"] {
        for t in 0..2400 {
            let _ = writeln!(series, "{policy},{t},1,1,0,0,0,{:.9}", 1.0 / 60.0);
        }
    }
    write("timeseries.csv", &series);
    write(
        "budget.csv",
        "policy,name,scope,period,limit_usd,spent_usd\n\
         a,daily,global,day,30.000000000,20.000000000\n\
         b,daily,global,day,30.000000000,20.000000000\n\
         a,key:prod/gw/spare,api_key,day,5.000000000,1.000000000\n",
    );
    write(
        "spend.csv",
        "policy,user,feature,key,requests,spend_usd\n\
         a,1,chat,spare…9f3e,3,4.000000000\n\
         a,2,chat,spare…9f3e,2,2.000000000\n\
         a,2,chat,main,9,34.000000000\n",
    );
    write("scenario.yaml", "name: x\nstarts_at_utc: \"23:40\"\n");
    dir
}

#[test]
fn spend_is_charted_per_day_and_key_budgets_per_day() {
    let dir = run_dir();
    let report = build(&RunData::load(&dir).expect("loads")).expect("builds");
    let file = |name: &str| {
        report
            .files
            .iter()
            .find(|(p, _)| p.to_str() == Some(name))
            .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
    };
    let svg = file("plots/spend-per-day.svg").expect("a per-day spend chart");
    assert!(
        svg.contains("budget daily: $30 per day"),
        "one cap line for both"
    );
    assert!(file("plots/spend.svg").is_none(), "no cumulative chart");
    let html = file("report.html").expect("page");
    assert!(html.contains("API-key budgets"), "key table");
    // $6 through `spare`, $1 of it after midnight: $5 of $5 on day 1.
    assert!(html.contains("day 1: $5.00 of $5.00 (100 %)"), "day 1");
    assert!(html.contains("day 2: $1.00 of $5.00 (20 %)"), "day 2");
    assert!(!html.contains("9f3e"), "no part of a secret in the page");
    let _ = std::fs::remove_dir_all(&dir);
}
