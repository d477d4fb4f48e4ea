//! The headline: the questions a scenario asks in its `report: { headline: [...] }` block,
//! answered per policy from `summary.csv`, with the best policy marked and a one-line verdict
//! each. Shown first in `report.html` and on the console, so a reader learns who won on what
//! before any table.

use crate::html::{Better, better};
use crate::units::human;
use spillway_sim::scenario::report::Question;

/// One question answered for every policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// As written, e.g. `p99_ms of interactive`.
    pub label: String,
    /// Which way is better.
    pub direction: Better,
    /// `(policy, value shown)` in policy order; the value is empty when absent.
    pub cells: Vec<(String, String)>,
    /// Index into `cells` of the single best policy (none on a tie or without a direction).
    pub best: Option<usize>,
    /// One line saying who won.
    pub verdict: String,
}

/// Which way a headline metric is better: as in the tables, except that money asked about in
/// a headline is a cost to lower.
pub fn direction(metric: &str) -> Better {
    match metric {
        "cost_usd" => Better::Lower,
        m => better(m),
    }
}

/// Answer `questions` from summary rows (`columns` names them; column 0 is the policy and
/// column 1 the class).
pub fn answers<C: AsRef<str>>(
    questions: &[Question],
    columns: &[C],
    rows: &[Vec<String>],
) -> Vec<Answer> {
    let mut policies: Vec<&str> = Vec::new();
    for row in rows {
        if let Some(p) = row.first().filter(|p| !policies.contains(&p.as_str())) {
            policies.push(p);
        }
    }
    questions
        .iter()
        .map(|q| answer(q, columns, rows, &policies))
        .collect()
}

fn answer<C: AsRef<str>>(
    q: &Question,
    columns: &[C],
    rows: &[Vec<String>],
    policies: &[&str],
) -> Answer {
    let label = match q.class {
        Some(_) => format!("{} of {}", q.metric, q.class_name()),
        None => q.metric.clone(),
    };
    let col = columns.iter().position(|c| c.as_ref() == q.metric);
    let over_col = BOUGHT_BY_OVER_ADMISSION
        .contains(&q.metric.as_str())
        .then(|| columns.iter().position(|c| c.as_ref() == OVER_ADMISSION))
        .flatten();
    let number = |row: Option<&Vec<String>>, c: Option<usize>| {
        c.and_then(|c| row.and_then(|r| r.get(c)))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let (values, over): (Vec<Option<f64>>, Vec<Option<f64>>) = policies
        .iter()
        .map(|p| {
            let row = rows.iter().find(|r| {
                r.first().map(String::as_str) == Some(p)
                    && r.get(1).map(String::as_str) == Some(q.class_name())
            });
            let over = number(row, over_col).filter(|pct| *pct > 0.0);
            (number(row, col), over)
        })
        .unzip();
    let direction = direction(&q.metric);
    let cells: Vec<(String, String)> = policies
        .iter()
        .zip(values.iter().zip(&over))
        .map(|(p, (v, over))| {
            let shown = v.map_or_else(String::new, |v| human(&q.metric, v));
            let shown = match over {
                Some(_) if !shown.is_empty() => format!("{shown} (over limit)"),
                _ => shown,
            };
            (p.to_string(), shown)
        })
        .collect();
    // Only policies that kept their limit are ranked on what over-admission buys.
    let ranked: Vec<Option<f64>> = values
        .iter()
        .zip(&over)
        .map(|(v, over)| v.filter(|_| over.is_none()))
        .collect();
    let best = best_index(&ranked, direction);
    let mut verdict = verdict(col.is_some(), &cells, &ranked, best, direction);
    verdict.push_str(&unranked(policies, &values, &over));
    Answer {
        label,
        direction,
        cells,
        best,
        verdict,
    }
}

/// Metrics a policy improves by admitting past its limit: ranking an over-admitting policy
/// best on them would reward breaking the limit (four replicas that never sync "reject the
/// fewest" because each enforces the whole global limit on its own).
const BOUGHT_BY_OVER_ADMISSION: [&str; 3] = ["rejected", "admitted", "completed"];

/// The `summary.csv` column saying by how much a policy exceeded its limit, in % (filled by
/// scenarios with a shadow exact limiter, e.g. several replicas).
const OVER_ADMISSION: &str = "over_admission_pct";

/// The verdict's note on policies left out of the ranking for exceeding their limit.
fn unranked(policies: &[&str], values: &[Option<f64>], over: &[Option<f64>]) -> String {
    let names: Vec<String> = policies
        .iter()
        .zip(values.iter().zip(over))
        .filter_map(|(p, (v, over))| {
            v.and(*over)
                .map(|pct| format!("{p} ({})", human(OVER_ADMISSION, pct)))
        })
        .collect();
    if names.is_empty() {
        return String::new();
    }
    format!("; not ranked, over their limit: {}", names.join(", "))
}

/// The single best value's index; `None` when two policies share it or nothing is scored.
fn best_index(values: &[Option<f64>], direction: Better) -> Option<usize> {
    let key = |v: f64| match direction {
        Better::Lower => v,
        Better::Higher => -v,
        Better::Neither => f64::NAN,
    };
    let scored: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, key(v))))
        .filter(|(_, k)| !k.is_nan())
        .collect();
    let min = scored.iter().map(|(_, k)| *k).fold(f64::INFINITY, f64::min);
    let at_min: Vec<usize> = scored
        .iter()
        .filter(|(_, k)| *k == min)
        .map(|(i, _)| *i)
        .collect();
    match at_min.as_slice() {
        [one] if scored.len() > 1 => Some(*one),
        _ => None,
    }
}

fn verdict(
    known: bool,
    cells: &[(String, String)],
    values: &[Option<f64>],
    best: Option<usize>,
    direction: Better,
) -> String {
    if !known {
        return "not a summary.csv column: nothing to compare".to_string();
    }
    let worst = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .reduce(|a, b| match direction {
            Better::Higher if b.1 < a.1 => b,
            Better::Lower if b.1 > a.1 => b,
            _ => a,
        });
    let way = match direction {
        Better::Lower => "lowest",
        Better::Higher => "highest",
        Better::Neither => return "context, not scored".to_string(),
    };
    match (best, worst) {
        (Some(b), Some((w, _))) if b != w => format!(
            "{} best with the {way} ({}); {} worst ({})",
            cells[b].0, cells[b].1, cells[w].0, cells[w].1
        ),
        (None, Some((w, worst))) if values.iter().flatten().count() > 1 => {
            tie(cells, values, (w, worst), direction, way)
        }
        _ => "nothing to compare (one policy or no values)".to_string(),
    }
}

/// The verdict when no single policy is best: who ties for the best value, and the worst
/// unless every policy ties (then there is no worst).
fn tie(
    cells: &[(String, String)],
    values: &[Option<f64>],
    (w, worst): (usize, f64),
    direction: Better,
    way: &str,
) -> String {
    let known = || {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
    };
    let best = known()
        .map(|(_, v)| v)
        .reduce(|a, b| match direction {
            Better::Higher => a.max(b),
            _ => a.min(b),
        })
        .unwrap_or(worst);
    if best == worst {
        return format!("all policies tie ({})", cells[w].1);
    }
    let tied: Vec<usize> = known()
        .filter(|(_, v)| *v == best)
        .map(|(i, _)| i)
        .collect();
    let names: Vec<&str> = tied.iter().map(|i| cells[*i].0.as_str()).collect();
    let names = match names.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    format!(
        "{names} tie for the {way} ({}); {} worst ({})",
        cells[tied[0]].1, cells[w].0, cells[w].1
    )
}

/// The headline as console text, wrapped within 100 columns.
pub fn render_text(answers: &[Answer]) -> String {
    if answers.is_empty() {
        return String::new();
    }
    let mut out = String::from("Headline (* marks the best policy)\n");
    for a in answers {
        let cells: Vec<String> = a
            .cells
            .iter()
            .enumerate()
            .map(|(i, (p, v))| {
                let v = if v.is_empty() { "-" } else { v };
                let star = if a.best == Some(i) { " *" } else { "" };
                format!("{p} {v}{star}")
            })
            .collect();
        out.push_str(&wrap(
            &format!("{}: {}", a.label, cells.join(", ")),
            "  ",
            "    ",
        ));
        out.push_str(&wrap(&format!("=> {}", a.verdict), "    ", "       "));
    }
    out
}

/// Greedy word wrap to 100 columns with a first-line and a continuation indent.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    const WIDTH: usize = 100;
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<String>> {
        let r = |c: &[&str]| c.iter().map(|s| s.to_string()).collect();
        vec![
            r(&["strict", "interactive", "120.5", "3"]),
            r(&["strict", "all", "900.0", "40"]),
            r(&["aging", "interactive", "300.0", "0"]),
            r(&["aging", "all", "1500.0", "0"]),
        ]
    }

    #[test]
    fn marks_the_best_in_the_asked_row_and_direction() {
        let cols = ["policy", "class", "p99_ms", "abandoned"];
        let qs = [
            Question::parse("p99_ms of interactive").unwrap(),
            Question::parse("abandoned").unwrap(),
        ];
        let a = answers(&qs, &cols, &rows());
        assert_eq!(a[0].best, Some(0), "strict has the lower interactive p99");
        assert_eq!(a[0].cells[1].1, "300 ms");
        assert_eq!(a[1].best, Some(1), "aging abandons fewer overall");
        assert!(a[1].verdict.starts_with("aging best"), "{}", a[1].verdict);
        let text = render_text(&a);
        assert!(text.contains("aging 0 *"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 100));
    }

    #[test]
    fn unknown_metric_and_ties_mark_nothing() {
        let cols = ["policy", "class", "p99_ms", "abandoned"];
        let qs = [Question::parse("nope").unwrap()];
        let a = answers(&qs, &cols, &rows());
        assert_eq!(a[0].best, None);
        assert!(a[0].verdict.contains("not a summary.csv column"));
        assert_eq!(best_index(&[Some(1.0), Some(1.0)], Better::Lower), None);
    }

    #[test]
    fn ties_name_who_ties_and_a_full_tie_has_no_worst() {
        let cells: Vec<(String, String)> = ["a", "b", "c"]
            .iter()
            .map(|p| (p.to_string(), "v".to_string()))
            .collect();
        let (same, split) = ([Some(0.0); 3], [Some(0.0), Some(663.0), Some(0.0)]);
        let v = |values: &[Option<f64>]| verdict(true, &cells, values, None, Better::Lower);
        assert_eq!(v(&same), "all policies tie (v)");
        assert_eq!(v(&split), "a and c tie for the lowest (v); b worst (v)");
    }

    /// distributed's numbers: `replicas` rejects the fewest because it over-admits 76.9 %.
    #[test]
    fn a_policy_over_its_limit_is_not_best_on_what_over_admission_buys() {
        let cols = [
            "policy",
            "class",
            "rejected",
            "admitted",
            "over_admission_pct",
        ];
        let r = |c: &[&str]| c.iter().map(|s| s.to_string()).collect();
        let rows: Vec<Vec<String>> = vec![
            r(&["single", "all", "4111", "2400", "0.000"]),
            r(&["replicas", "all", "2265", "4246", "76.917"]),
            r(&["local-split", "all", "4151", "2360", "0.000"]),
            r(&["async", "all", "4000", "2500", "1.5"]),
        ];
        let qs =
            ["rejected", "admitted", "over_admission_pct"].map(|q| Question::parse(q).unwrap());
        let a = answers(&qs, &cols, &rows);
        for q in &a[..2] {
            assert_eq!(q.best, Some(0), "{}: {}", q.label, q.verdict);
            assert!(q.verdict.starts_with("single best"), "{}", q.verdict);
            assert!(
                q.verdict
                    .ends_with("not ranked, over their limit: replicas (76.92 %), async (1.50 %)"),
                "{}",
                q.verdict
            );
        }
        assert_eq!(a[0].cells[1].1, "2,265 (over limit)");
        assert!(
            a[0].verdict.contains("local-split worst (4,151)"),
            "{}",
            a[0].verdict
        );
        // The over-admission itself is ranked like any other metric, lowest best.
        assert_eq!(a[2].best, None, "single and local-split tie at 0");
        assert!(a[2].verdict.contains("replicas worst"), "{}", a[2].verdict);
    }

    #[test]
    fn wrap_stays_within_100_columns() {
        let long = "word ".repeat(60);
        let w = wrap(&long, "  ", "    ");
        assert!(w.lines().count() > 1 && w.lines().all(|l| l.chars().count() <= 100));
    }
}
