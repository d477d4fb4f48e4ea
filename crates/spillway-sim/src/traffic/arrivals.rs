//! The merged, time-ordered stream of request arrivals from every group.
//!
//! Each group draws from its own streams (arrival times, users, sizes), so the stream is a pure
//! function of (scenario, seed): every policy of a run replays exactly these arrivals.
//! Memory is O(users) for on/off groups (one pending event per user) and O(1) for Poisson
//! groups (the superposition of independent Poisson users is one Poisson process).

use super::trace::{TraceError, TraceSource};
use super::{ExactTime, RateSchedule, TokenSizes, exp1, secs_to_nanos, unit_f64};
use crate::engine::EventQueue;
use crate::rng::{Concern, stream};
use crate::scenario::{ArrivalSpec, Scenario};
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;
use spillway_core::{Duration, Time};

/// One request arriving at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// When.
    pub at: Time,
    /// Who: a global user id, unique across groups.
    pub user: u64,
    /// Index of the user's group in the scenario.
    pub group: u32,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens the provider will produce.
    pub output_tokens: u64,
    /// The request failed in the recorded trace it comes from (BurstGPT rows with zero
    /// response tokens); always `false` for generated traffic.
    pub failed: bool,
}

struct GroupSource {
    first_user: u64,
    users: u64,
    arrival: ArrivalSpec,
    schedule: RateSchedule,
    times: ChaCha8Rng,
    who: ChaCha8Rng,
    sizes: ChaCha8Rng,
    input: TokenSizes,
    output: TokenSizes,
    /// On/off groups: end of each user's current session.
    session_end: Vec<Time>,
    /// Poisson groups: the exact instant of the pending arrival (its sub-nanosecond part is
    /// carried into the next gap).
    next_exact: ExactTime,
    /// On/off groups: the same, per user, within the current session.
    user_exact: Vec<ExactTime>,
}

/// The event an event schedules when it fires, if any.
type FollowUp = Option<(Time, Pending)>;

#[derive(Clone, Copy)]
enum Pending {
    /// The next arrival of a Poisson group (user drawn when it fires).
    Group(u32),
    /// A session of an on/off user starts.
    SessionStart(u32, u64),
    /// An on/off user sends a request.
    UserRequest(u32, u64),
}

/// Iterator over every arrival before the scenario's end, in time order.
pub struct ArrivalStream {
    groups: Vec<GroupSource>,
    pending: EventQueue<Pending>,
    horizon: Time,
    /// The scenario's trace, if any, and its next arrival (merged by time; groups first on
    /// ties).
    trace: Option<TraceSource>,
    trace_next: Option<Arrival>,
    trace_error: Option<TraceError>,
}

impl ArrivalStream {
    /// Arrivals of `scenario` under `seed`, up to `duration`.
    pub fn new(scenario: &Scenario, seed: u64, duration: Duration) -> Self {
        let horizon = Time::ZERO.saturating_add(duration);
        let mut stream = ArrivalStream {
            groups: Vec::with_capacity(scenario.groups.len()),
            pending: EventQueue::default(),
            horizon,
            trace: scenario
                .trace
                .as_ref()
                .map(|spec| TraceSource::new(spec, seed, horizon)),
            trace_next: None,
            trace_error: None,
        };
        let mut first_user = 0u64;
        for (index, g) in scenario.groups.iter().enumerate() {
            let id = index as u32;
            let windows: Vec<_> = scenario
                .spikes
                .iter()
                .filter(|s| s.groups.contains(&index))
                .map(|s| (s.start, s.end, s.multiplier))
                .collect();
            let is_on_off = matches!(g.arrival, ArrivalSpec::OnOff { .. });
            stream.groups.push(GroupSource {
                first_user,
                users: g.users,
                arrival: g.arrival.clone(),
                schedule: RateSchedule::from_windows(&windows),
                times: stream_for(seed, Concern::Arrivals, id),
                who: stream_for(seed, Concern::Users, id),
                sizes: stream_for(seed, Concern::Sizes, id),
                input: TokenSizes::new(&g.input_tokens),
                output: TokenSizes::new(&g.output_tokens),
                session_end: if is_on_off {
                    vec![Time::ZERO; g.users as usize]
                } else {
                    Vec::new()
                },
                next_exact: ExactTime::at(Time::ZERO),
                user_exact: if is_on_off {
                    vec![ExactTime::at(Time::ZERO); g.users as usize]
                } else {
                    Vec::new()
                },
            });
            first_user = first_user.saturating_add(g.users);
            stream.start_group(id);
        }
        stream.pull_trace();
        stream
    }

    /// Why the trace stopped early, if it did (the stream then ends without its rows).
    /// `trace::survey` reports the same error before any run.
    pub fn trace_error(&self) -> Option<&TraceError> {
        self.trace_error.as_ref()
    }

    fn pull_trace(&mut self) {
        let Some(trace) = &mut self.trace else { return };
        match trace.next_arrival() {
            Ok(next) => self.trace_next = next,
            Err(e) => {
                self.trace_next = None;
                self.trace_error = Some(e);
                self.trace = None;
            }
        }
    }

    fn start_group(&mut self, id: u32) {
        let g = &mut self.groups[id as usize];
        match g.arrival {
            ArrivalSpec::Poisson { rate_per_sec } => {
                let rate = rate_per_sec * g.users as f64;
                let e = exp1(&mut g.times);
                let from = ExactTime::at(Time::ZERO);
                if let Some(at) = g.schedule.next_event(from, rate, e, self.horizon) {
                    g.next_exact = at;
                    self.pending.push(at.at, Pending::Group(id));
                }
            }
            ArrivalSpec::Trace => {}
            ArrivalSpec::OnOff {
                mean_on, mean_off, ..
            } => {
                // Start in the stationary state: on with probability on/(on+off); exponential
                // periods are memoryless, so a fresh session (or pause) is exact.
                let p_on = mean_on.as_secs_f64() / (mean_on.as_secs_f64() + mean_off.as_secs_f64());
                for user in 0..g.users {
                    let at = if unit_f64(&mut g.times) < p_on {
                        Time::ZERO
                    } else {
                        exp_time(&mut g.times, Time::ZERO, mean_off)
                    };
                    if at < self.horizon {
                        self.pending.push(at, Pending::SessionStart(id, user));
                    }
                }
            }
        }
    }

    /// The next request of an on/off user, or the start of its next session (`None`: nothing
    /// more before the horizon). Returned rather than pushed so that [`Iterator::next`] can
    /// put it in the place of the event that caused it, in one heap operation.
    fn next_in_session(&mut self, id: u32, user: u64, now: ExactTime) -> FollowUp {
        let g = &mut self.groups[id as usize];
        let ArrivalSpec::OnOff {
            rate_per_sec,
            mean_off,
            ..
        } = g.arrival
        else {
            return None;
        };
        let session_end = g.session_end[user as usize];
        let e = exp1(&mut g.times);
        match g
            .schedule
            .next_event(now, rate_per_sec, e, session_end.min(self.horizon))
        {
            Some(at) => {
                g.user_exact[user as usize] = at;
                Some((at.at, Pending::UserRequest(id, user)))
            }
            None => {
                let next = exp_time(&mut g.times, session_end, mean_off);
                (next < self.horizon).then_some((next, Pending::SessionStart(id, user)))
            }
        }
    }

    /// Fire `pending` (due at `at`): its follow-up event, if any, and the (group, user) of the
    /// arrival it makes, if any. Draws exactly what popping and handling it used to.
    fn fire(&mut self, at: Time, pending: Pending) -> (FollowUp, Option<(u32, u64)>) {
        match pending {
            Pending::Group(id) => {
                let g = &mut self.groups[id as usize];
                let user = uniform_below(&mut g.who, g.users);
                let ArrivalSpec::Poisson { rate_per_sec } = g.arrival else {
                    return (None, None);
                };
                let e = exp1(&mut g.times);
                let rate = rate_per_sec * g.users as f64;
                let next = g.schedule.next_event(g.next_exact, rate, e, self.horizon);
                if let Some(next) = next {
                    g.next_exact = next;
                }
                (next.map(|n| (n.at, Pending::Group(id))), Some((id, user)))
            }
            Pending::SessionStart(id, user) => {
                let g = &mut self.groups[id as usize];
                if let ArrivalSpec::OnOff { mean_on, .. } = g.arrival {
                    g.session_end[user as usize] = exp_time(&mut g.times, at, mean_on);
                }
                (self.next_in_session(id, user, ExactTime::at(at)), None)
            }
            Pending::UserRequest(id, user) => {
                let now = self.groups[id as usize].user_exact[user as usize];
                (self.next_in_session(id, user, now), Some((id, user)))
            }
        }
    }

    fn emit(&mut self, id: u32, user_in_group: u64, at: Time) -> Arrival {
        let g = &mut self.groups[id as usize];
        Arrival {
            at,
            user: g.first_user + user_in_group,
            group: id,
            input_tokens: g.input.draw(&mut g.sizes),
            output_tokens: g.output.draw(&mut g.sizes),
            failed: false,
        }
    }
}

impl Iterator for ArrivalStream {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        loop {
            if let Some(trace) = self.trace_next
                && self.pending.peek_time().is_none_or(|t| trace.at < t)
            {
                self.pull_trace();
                return Some(trace);
            }
            let (at, &pending) = self.pending.peek()?;
            let (follow_up, arrival) = self.fire(at, pending);
            match follow_up {
                Some((next, event)) => self.pending.replace_first(next, event),
                None => self.pending.pop(),
            };
            if let Some((id, user)) = arrival {
                return Some(self.emit(id, user, at));
            }
        }
    }
}

fn stream_for(seed: u64, concern: Concern, group: u32) -> ChaCha8Rng {
    stream(seed, concern, group)
}

/// `from` plus an exponential span of mean `mean`.
fn exp_time(rng: &mut ChaCha8Rng, from: Time, mean: Duration) -> Time {
    let span = secs_to_nanos(exp1(rng) * mean.as_secs_f64());
    Time::from_nanos(from.as_nanos().saturating_add(span))
}

/// Uniform in `[0, n)` by multiply-shift (Lemire), no modulo bias worth measuring.
fn uniform_below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}
