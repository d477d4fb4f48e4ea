//! The API-key budgets next to what went through each key. A key's cap limits one period's
//! spend (`$20 per day`), so spend is split at the last reset: `budget.csv` gives the spend
//! of the period current at the end, `spend.csv` the run's total through the key, and the
//! difference is what the earlier period(s) spent. Exact per period when the run crosses at
//! most one reset, which is how scenarios are written; beyond that, the earlier periods are
//! shown together and not compared with the cap.

use super::escape;
use crate::clock::RunClock;
use crate::input::{BudgetLine, RunData};
use crate::units::dollars;
use std::fmt::Write;

/// Spend of one period (or several together) against the cap.
#[derive(Debug, Clone, PartialEq)]
struct Share {
    label: String,
    usd: f64,
    /// The cap it is compared with (`None` for several periods together).
    cap_usd: Option<f64>,
}

/// The table, or nothing when no policy has a key budget.
pub fn key_caps_html(data: &RunData) -> String {
    let caps: Vec<&BudgetLine> = data
        .budgets
        .iter()
        .flatten()
        .filter(|b| b.key_name().is_some())
        .collect();
    if caps.is_empty() {
        return String::new();
    }
    let clock = RunClock::of(data.scenario_yaml.as_deref());
    let end_s = data
        .timeseries
        .iter()
        .filter_map(|(_, p)| p.last().map(|p| p.t_s.saturating_add(p.seconds)))
        .max()
        .unwrap_or(0);
    let mut out = String::from(
        "<h3 id=\"key-caps\">API-key budgets</h3>\n<p>Spend through each key that has its own \
         budget, per budget period (UTC), against the key's cap: a leaked key stops at its cap. \
         From spend.csv (run total per key) and budget.csv (spend of the last period).</p>\n\
         <div class=\"scroll\"><table>\n<thead><tr><th>policy</th><th>key</th><th>cap</th>\
         <th>requests</th><th>spend per period</th></tr></thead>\n<tbody>\n",
    );
    for cap in caps {
        let (Some(key), policies) = (cap.key_name(), owners(data, cap)) else {
            continue;
        };
        for policy in policies {
            let through: Vec<_> = data
                .key_spend
                .iter()
                .flatten()
                .filter(|s| s.policy == policy && s.key_name() == key)
                .collect();
            let total: f64 = through.iter().map(|s| s.spend_usd).sum();
            let requests: u64 = through.iter().map(|s| s.requests).sum();
            let spanned = cap.period.map(|p| (p, clock.periods_spanned(p, end_s)));
            let shares = shares(cap, total, spanned);
            let per = cap
                .period
                .map_or(String::new(), |p| format!(" per {}", p.name()));
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}{}</td><td class=\"num\">{}</td>\
                 <td>{}</td></tr>",
                escape(&policy),
                escape(key),
                dollars(cap.limit_usd),
                per,
                requests,
                shares
                    .iter()
                    .map(share_html)
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}

/// The policies a cap row applies to: its own, or every policy when the file does not say.
fn owners(data: &RunData, cap: &BudgetLine) -> Vec<String> {
    match &cap.policy {
        Some(p) => vec![p.clone()],
        None => data.policies().iter().map(|p| p.to_string()).collect(),
    }
}

/// The run's spend through a key split by period: `spanned` is the cap's period and how
/// many of them the run touches.
fn shares(
    cap: &BudgetLine,
    total: f64,
    spanned: Option<(spillway_core::budget::Period, u64)>,
) -> Vec<Share> {
    let whole = |label: String| {
        vec![Share {
            label,
            usd: total,
            cap_usd: Some(cap.limit_usd),
        }]
    };
    let (Some((period, n)), Some(last)) = (spanned, cap.spent_usd) else {
        return whole("over the run".to_string());
    };
    let name = period.name();
    if n <= 1 {
        return whole(format!("the run's only {name}"));
    }
    let earlier = (total - last).max(0.0);
    let (earlier_label, earlier_cap) = if n == 2 {
        (format!("{name} 1"), Some(cap.limit_usd))
    } else {
        (format!("{name}s 1–{} together", n - 1), None)
    };
    vec![
        Share {
            label: earlier_label,
            usd: earlier,
            cap_usd: earlier_cap,
        },
        Share {
            label: format!("{name} {n}"),
            usd: last,
            cap_usd: Some(cap.limit_usd),
        },
    ]
}

/// `day 1: $19.99 of $20.00 (100 %)` with a bar, red from the cap on.
fn share_html(s: &Share) -> String {
    match s.cap_usd {
        Some(cap) if cap > 0.0 => {
            let pct = s.usd / cap * 100.0;
            // Red when it reads 100 %: a cap stops spend a request short of its limit.
            let class = if pct.round() >= 100.0 {
                "bar full"
            } else {
                "bar"
            };
            format!(
                "<span class=\"{class}\"><span style=\"width:{:.0}%\"></span></span> {}: {} of {} \
                 ({pct:.0} %)",
                pct.clamp(0.0, 100.0),
                escape(&s.label),
                dollars(s.usd),
                dollars(cap)
            )
        }
        _ => format!("{}: {}", escape(&s.label), dollars(s.usd)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::budget::Period;

    fn cap(spent_usd: Option<f64>) -> BudgetLine {
        BudgetLine {
            policy: Some("p".into()),
            name: "key:prod/gw/secondary".into(),
            scope: Some("api_key".into()),
            period: Some(Period::Day),
            limit_usd: 20.0,
            spent_usd,
        }
    }

    #[test]
    fn spend_is_split_at_the_last_reset() {
        let two = shares(&cap(Some(1.0)), 20.0, Some((Period::Day, 2)));
        assert_eq!(two[0].label, "day 1");
        assert_eq!((two[0].usd, two[0].cap_usd), (19.0, Some(20.0)));
        assert_eq!((two[1].usd, two[1].label.as_str()), (1.0, "day 2"));
        let many = shares(&cap(Some(1.0)), 50.0, Some((Period::Day, 4)));
        assert_eq!(
            many[0].cap_usd, None,
            "several days are not read against one cap"
        );
        let one = shares(&cap(Some(5.0)), 5.0, Some((Period::Day, 1)));
        assert_eq!(one.len(), 1);
        assert_eq!(shares(&cap(None), 7.0, None)[0].label, "over the run");
    }

    #[test]
    fn a_share_reads_against_its_cap() {
        let s = Share {
            label: "day 1".into(),
            usd: 19.99,
            cap_usd: Some(20.0),
        };
        let html = share_html(&s);
        assert!(html.contains("day 1: $19.99 of $20.00 (100 %)"), "{html}");
        assert!(html.contains("bar full"), "{html}");
    }
}
