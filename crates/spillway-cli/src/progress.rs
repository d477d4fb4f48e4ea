//! The progress bar of `simulate`: simulated seconds done across all policies and the event
//! rate, on stderr. It appears only once a run has taken about a second (short runs stay
//! quiet), and never when stderr is not a terminal or with `--quiet`.
//!
//! Wall time comes from the bar itself (`ProgressBar::elapsed`): this module reads no clock.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// How long a run goes before the bar is shown.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Progress of a multi-policy run.
pub struct Progress {
    bar: ProgressBar,
    /// The bar may be drawn (a terminal, not `--quiet`).
    enabled: bool,
    shown: bool,
    seconds_per_policy: u64,
    policy_index: u64,
    policies: u64,
    events: u64,
}

impl Progress {
    /// A bar for `policies` runs of about `seconds_per_policy` simulated seconds each.
    pub fn new(quiet: bool, policies: usize, seconds_per_policy: u64) -> Self {
        let policies = policies as u64;
        let bar = ProgressBar::with_draw_target(
            Some(policies.saturating_mul(seconds_per_policy).max(1)),
            ProgressDrawTarget::hidden(),
        );
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {elapsed:>3} [{wide_bar}] {pos}/{len} simulated s · {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress {
            bar,
            enabled: !quiet && std::io::stderr().is_terminal(),
            shown: false,
            seconds_per_policy,
            policy_index: 0,
            policies,
            events: 0,
        }
    }

    /// A policy starts.
    pub fn start_policy(&mut self, index: usize, name: &str) {
        self.policy_index = index as u64;
        self.bar.set_position(self.base());
        self.bar.set_message(format!(
            "policy {}/{} {name}{}",
            index + 1,
            self.policies,
            self.rate()
        ));
    }

    /// One simulated second closed (the timeseries sink).
    pub fn second(&mut self, t_s: u64) {
        // A bar that can never be drawn need not move: a long run closes ~100 k seconds per
        // policy, and `set_position` costs a lock and an atomic each.
        if !self.enabled {
            return;
        }
        let within = t_s.min(self.seconds_per_policy);
        self.bar.set_position(self.base().saturating_add(within));
        if !self.shown && self.bar.elapsed() >= SHOW_AFTER {
            self.shown = true;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// A policy finished after processing `events` events.
    pub fn finish_policy(&mut self, events: u64) {
        self.events = self.events.saturating_add(events);
    }

    /// All done: the bar is removed (the summary follows).
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }

    fn base(&self) -> u64 {
        self.policy_index.saturating_mul(self.seconds_per_policy)
    }

    fn rate(&self) -> String {
        let wall = self.bar.elapsed().as_secs_f64();
        if self.events == 0 || wall <= 0.0 {
            String::new()
        } else {
            format!(" · {:.0}k events/s", self.events as f64 / wall / 1e3)
        }
    }
}
