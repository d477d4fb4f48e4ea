//! The optional `report:` block: the questions a scenario asks, shown first in its report.
//!
//! ```yaml
//! report:
//!   headline: [abandoned, p99_ms of interactive, cost_usd]
//! ```
//!
//! Each item names a `summary.csv` column, optionally `of <class>` (default: the `all` row).
//! The simulator does not use the block; it lives here so `validate` rejects a typo in it and
//! so the report, rebuilt later from the run directory's copy of the scenario, reads it the
//! same way.

use super::Class;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// `report:` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    /// The headline questions, e.g. `p99_ms of interactive`.
    #[serde(default)]
    pub headline: Vec<Spanned<String>>,
}

/// One headline question: a metric of one class's row (or of the `all` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// A `summary.csv` column, e.g. `p99_ms`.
    pub metric: String,
    /// The class row asked about; `None` is the `all` row.
    pub class: Option<Class>,
}

impl Question {
    /// Parse `metric` or `metric of class`; the error says what is allowed.
    pub fn parse(text: &str) -> Result<Question, String> {
        let (metric, class) = match text.split_once(" of ") {
            Some((m, c)) => (m.trim(), Some(c.trim())),
            None => (text.trim(), None),
        };
        let valid = !metric.is_empty()
            && metric
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(format!(
                "`{text}`: a headline item is a summary.csv column name such as `abandoned` \
                 or `p99_ms of interactive`"
            ));
        }
        let class = match class {
            None => None,
            Some(c) => Some(Class::parse(c).ok_or_else(|| {
                format!(
                    "`{text}`: the class after `of` is interactive, standard, batch or background"
                )
            })?),
        };
        Ok(Question {
            metric: metric.to_string(),
            class,
        })
    }

    /// The class row name in `summary.csv` (`all` when no class is named).
    pub fn class_name(&self) -> &'static str {
        self.class.map_or("all", Class::name)
    }
}

/// Report every headline item that does not parse, at its location.
pub(crate) fn check(
    report: Option<&RawReport>,
    reporter: &mut spillway_core::policy::Reporter<'_>,
) {
    for item in report.map_or(&[][..], |r| &r.headline) {
        if let Err(message) = Question::parse(&item.value) {
            let l = &item.referenced;
            reporter.at(l.line() as usize, l.column() as usize, message);
        }
    }
}

/// Only the `report:` block of a scenario; every other field is ignored.
#[derive(Deserialize)]
struct ReportOnly {
    #[serde(default)]
    report: Option<RawReport>,
}

/// The headline questions of scenario text (a run directory's `scenario.yaml`). Lenient:
/// the file was validated when it ran, so an unreadable block just means no headline.
pub fn headline_of(yaml: &str) -> Vec<Question> {
    let Ok(only) = serde_saphyr::from_str::<ReportOnly>(yaml) else {
        return Vec::new();
    };
    only.report
        .map(|r| r.headline)
        .unwrap_or_default()
        .iter()
        .filter_map(|q| Question::parse(&q.value).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_metric_and_class() {
        let q = Question::parse("p99_ms of interactive").unwrap();
        assert_eq!(q.metric, "p99_ms");
        assert_eq!(q.class, Some(Class::Interactive));
        assert_eq!(Question::parse("abandoned").unwrap().class_name(), "all");
        assert!(Question::parse("p99 ms").is_err());
        assert!(Question::parse("p99_ms of vip").is_err());
    }

    #[test]
    fn reads_the_block_and_ignores_the_rest() {
        let yaml = "name: x\nduration: 1m\nreport:\n  headline: [abandoned, p99_ms of batch]\n";
        let qs = headline_of(yaml);
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[1].class_name(), "batch");
        assert!(headline_of("name: x\n").is_empty());
    }
}
