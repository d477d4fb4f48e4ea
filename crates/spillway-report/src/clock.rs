//! The run's UTC clock. Budget periods are calendar windows (the hour, the UTC day, the
//! month), so to tell which period a second of the run falls in, a report needs the time of
//! day the run starts: `starts_at_utc` in the scenario, else 00:00 UTC, as the simulator
//! assumes. The window arithmetic is spillway-core's own ([`Period::window`]).

use serde::Deserialize;
use spillway_core::budget::Period;

const NS_PER_S: u64 = 1_000_000_000;

/// Seconds after 00:00 UTC of `HH:MM` (the simulator's format), `None` otherwise.
pub fn time_of_day_s(text: &str) -> Option<u64> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m) = (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?);
    (h < 24 && m < 60 && text.trim().len() == 5).then(|| (h * 60 + m) * 60)
}

/// A budget period from its name in `budget.csv` (`hour`, `day`, `month`).
pub fn period_named(name: &str) -> Option<Period> {
    [Period::Hour, Period::Day, Period::Month]
        .into_iter()
        .find(|p| p.name() == name)
}

#[derive(Deserialize)]
struct StartOnly {
    starts_at_utc: Option<String>,
}

/// Where simulated second 0 lies on the UTC calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunClock {
    /// Seconds after the Unix epoch of the run's start (the simulator starts on 1970-01-01).
    origin_s: u64,
}

impl RunClock {
    /// The clock of a scenario's text (00:00 UTC when it does not say, or does not parse).
    pub fn of(yaml: Option<&str>) -> RunClock {
        let start = yaml
            .and_then(|y| serde_saphyr::from_str::<StartOnly>(y).ok())
            .and_then(|s| s.starts_at_utc)
            .and_then(|t| time_of_day_s(&t));
        RunClock {
            origin_s: start.unwrap_or(0),
        }
    }

    /// Which `period` simulated second `t_s` falls in (ordinal since the epoch: consecutive
    /// periods have consecutive ids).
    pub fn period_id(&self, period: Period, t_s: u64) -> u64 {
        let unix_ns = self.origin_s.saturating_add(t_s).saturating_mul(NS_PER_S);
        period.window(unix_ns).id
    }

    /// How many periods the simulated seconds `0..end_s` touch (at least one).
    pub fn periods_spanned(&self, period: Period, end_s: u64) -> u64 {
        let last = self.period_id(period, end_s.saturating_sub(1));
        last - self.period_id(period, 0) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_starting_at_23_35_changes_day_after_25_minutes() {
        let clock = RunClock::of(Some("name: x\nstarts_at_utc: \"23:35\"\n"));
        assert_eq!(
            clock.period_id(Period::Day, 1499),
            clock.period_id(Period::Day, 0)
        );
        assert_eq!(
            clock.period_id(Period::Day, 1500),
            clock.period_id(Period::Day, 0) + 1
        );
        assert_eq!(clock.periods_spanned(Period::Day, 2400), 2);
        assert_eq!(clock.periods_spanned(Period::Day, 1500), 1);
        assert_eq!(clock.periods_spanned(Period::Hour, 2400), 2);
    }

    #[test]
    fn start_times_parse_as_the_simulator_reads_them() {
        assert_eq!(time_of_day_s("23:35"), Some(84_900));
        assert_eq!(time_of_day_s("00:00"), Some(0));
        for bad in ["24:00", "7:5", "23:60", "noon", "23:35:00", ""] {
            assert_eq!(time_of_day_s(bad), None, "{bad}");
        }
        assert_eq!(
            RunClock::of(None),
            RunClock::of(Some("starts_at_utc: soon\n"))
        );
        assert_eq!(period_named("month"), Some(Period::Month));
        assert_eq!(period_named("week"), None);
    }
}
