//! [`CircuitBreaker`]: stop sending to a provider that keeps failing, probe, then resume.
//!
//! ```text
//!            failures ≥ threshold              open_for elapsed
//!   Closed ─────────────────────────▶ Open ─────────────────────▶ HalfOpen
//!     ▲  ▲                              ▲                           │  │
//!     │  └── success resets count       └──── any probe fails ──────┘  │
//!     └────────────────── `probes` successes ──────────────────────────┘
//! ```
//!
//! - **Closed**: everything passes; consecutive failures are counted, a success resets them.
//! - **Open**: nothing passes until `open_for` has elapsed; late responses to requests sent
//!   before the trip are ignored (they say nothing about the provider *now*).
//! - **HalfOpen**: at most `probes` requests pass; all of them must succeed to close, and one
//!   failure reopens for another `open_for`. Successes beyond the probes admitted (late
//!   responses) are not counted; any failure reopens (conservative: the caller cannot always
//!   tell a probe's failure from a late one).
//!
//! What counts as a failure (429, 5xx, timeouts) is the caller's choice. Time only moves the
//! breaker in [`CircuitBreaker::advance`] (also called by [`CircuitBreaker::try_acquire`]), and
//! every change of state is recorded as a [`Transition`] for a time series of breaker state.

use crate::time::{Duration, Time};

/// Most transitions kept until [`CircuitBreaker::drain_transitions`]; older ones are dropped
/// (and counted), so an undrained breaker cannot grow without bound.
pub const MAX_PENDING_TRANSITIONS: usize = 64;

/// A breaker configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BreakerError {
    /// A zero threshold would trip without any failure.
    #[error("failure_threshold must be at least 1")]
    ZeroThreshold,
    /// Zero probes could never close the breaker again.
    #[error("half_open_probes must be at least 1")]
    ZeroProbes,
}

/// A validated breaker configuration.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    failure_threshold: u32,
    open_for: Duration,
    probes: u32,
}

impl BreakerConfig {
    /// Trip after `failure_threshold` consecutive failures, stay open `open_for`, then let
    /// `probes` requests test the provider.
    pub fn new(
        failure_threshold: u32,
        open_for: Duration,
        probes: u32,
    ) -> Result<Self, BreakerError> {
        if failure_threshold == 0 {
            return Err(BreakerError::ZeroThreshold);
        }
        if probes == 0 {
            return Err(BreakerError::ZeroProbes);
        }
        Ok(BreakerConfig {
            failure_threshold,
            open_for,
            probes,
        })
    }

    /// Consecutive failures that trip the breaker.
    pub const fn failure_threshold(&self) -> u32 {
        self.failure_threshold
    }
    /// How long the breaker stays open.
    pub const fn open_for(&self) -> Duration {
        self.open_for
    }
    /// Probes let through (and needed to succeed) while half-open.
    pub const fn probes(&self) -> u32 {
        self.probes
    }
}

impl Default for BreakerConfig {
    /// 5 failures, 30 s open, 1 probe.
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
            probes: 1,
        }
    }
}

/// The breaker's state with its counters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Passing everything; `failures` in a row so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Passing nothing until `until`.
    Open {
        /// When the breaker half-opens.
        until: Time,
    },
    /// Letting a few probes through.
    HalfOpen {
        /// Probes admitted so far.
        admitted: u32,
        /// Probes that succeeded so far.
        succeeded: u32,
    },
}

impl BreakerState {
    /// `closed`, `open` or `half_open`, for time series and reports.
    pub const fn name(&self) -> &'static str {
        match self {
            BreakerState::Closed { .. } => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen { .. } => "half_open",
        }
    }

    /// 0 closed, 1 half-open, 2 open: a number to plot.
    pub const fn level(&self) -> u8 {
        match self {
            BreakerState::Closed { .. } => 0,
            BreakerState::HalfOpen { .. } => 1,
            BreakerState::Open { .. } => 2,
        }
    }
}

/// One change of state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// When it happened.
    pub at: Time,
    /// The state before.
    pub from: BreakerState,
    /// The state after.
    pub to: BreakerState,
}

/// A refused request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BreakerOpen {
    /// When the breaker half-opens; `None` while half-open with every probe in flight (the
    /// answer depends on their responses, not on time).
    pub retry_at: Option<Time>,
}

/// The circuit breaker of one provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: BreakerState,
    pending: Vec<Transition>,
    dropped: u64,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        CircuitBreaker {
            config,
            state: BreakerState::Closed { failures: 0 },
            pending: Vec::new(),
            dropped: 0,
        }
    }

    /// The current state (as of the last call; call [`advance`](Self::advance) first to apply
    /// the passage of time).
    pub const fn state(&self) -> BreakerState {
        self.state
    }

    /// The configuration.
    pub const fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Apply the passage of time: Open becomes HalfOpen once `open_for` has elapsed.
    pub fn advance(&mut self, now: Time) {
        if let BreakerState::Open { until } = self.state
            && now >= until
        {
            let half = BreakerState::HalfOpen {
                admitted: 0,
                succeeded: 0,
            };
            self.set(now, half);
        }
    }

    /// May a request go to the provider at `now`? Admitting a half-open probe counts it.
    pub fn try_acquire(&mut self, now: Time) -> Result<(), BreakerOpen> {
        self.advance(now);
        match self.state {
            BreakerState::Closed { .. } => Ok(()),
            BreakerState::Open { until } => Err(BreakerOpen {
                retry_at: Some(until),
            }),
            BreakerState::HalfOpen {
                admitted,
                succeeded,
            } if admitted < self.config.probes => {
                // Counting a probe is not a change of state worth a transition.
                self.state = BreakerState::HalfOpen {
                    admitted: admitted + 1,
                    succeeded,
                };
                Ok(())
            }
            BreakerState::HalfOpen { .. } => Err(BreakerOpen { retry_at: None }),
        }
    }

    /// Whether a request would be admitted at `now`, without counting it.
    pub fn would_admit(&self, now: Time) -> bool {
        self.check(now).is_ok()
    }

    /// What [`try_acquire`](Self::try_acquire) would answer at `now`, without counting a probe
    /// or moving the state (an elapsed Open admits: it half-opens with at least one probe).
    pub fn check(&self, now: Time) -> Result<(), BreakerOpen> {
        match self.state {
            BreakerState::Closed { .. } => Ok(()),
            BreakerState::Open { until } if now >= until => Ok(()),
            BreakerState::Open { until } => Err(BreakerOpen {
                retry_at: Some(until),
            }),
            BreakerState::HalfOpen { admitted, .. } if admitted < self.config.probes => Ok(()),
            BreakerState::HalfOpen { .. } => Err(BreakerOpen { retry_at: None }),
        }
    }

    /// A response that counts as success arrived at `now`.
    pub fn on_success(&mut self, now: Time) {
        self.advance(now);
        match self.state {
            BreakerState::Closed { failures } if failures > 0 => {
                self.state = BreakerState::Closed { failures: 0 };
            }
            // Only probes count: a late success of a request sent before the trip says
            // nothing about the provider now, so it cannot close the breaker.
            BreakerState::HalfOpen {
                admitted,
                succeeded,
            } if succeeded < admitted => {
                let succeeded = succeeded.saturating_add(1);
                if succeeded >= self.config.probes {
                    self.set(now, BreakerState::Closed { failures: 0 });
                } else {
                    self.state = BreakerState::HalfOpen {
                        admitted,
                        succeeded,
                    };
                }
            }
            BreakerState::Closed { .. }
            | BreakerState::Open { .. }
            | BreakerState::HalfOpen { .. } => {}
        }
    }

    /// A call that passed the breaker will never be answered (its client left, or the driver
    /// cut it): while half-open it gives its probe slot back, so that a cut probe does not
    /// leave the breaker waiting forever for an answer (only answers move it on). The call
    /// may have been sent before the trip rather than as a probe; giving a slot back then only
    /// lets one more probe through, which the probes' own answers still judge.
    pub fn on_abandoned(&mut self, now: Time) {
        self.advance(now);
        if let BreakerState::HalfOpen {
            admitted,
            succeeded,
        } = self.state
            && admitted > succeeded
        {
            self.state = BreakerState::HalfOpen {
                admitted: admitted - 1,
                succeeded,
            };
        }
    }

    /// A response that counts as failure arrived at `now`.
    pub fn on_failure(&mut self, now: Time) {
        self.advance(now);
        let open = BreakerState::Open {
            until: now.saturating_add(self.config.open_for),
        };
        match self.state {
            BreakerState::Closed { failures } => {
                let failures = failures.saturating_add(1);
                if failures >= self.config.failure_threshold {
                    self.set(now, open);
                } else {
                    self.state = BreakerState::Closed { failures };
                }
            }
            BreakerState::HalfOpen { .. } => self.set(now, open),
            BreakerState::Open { .. } => {}
        }
    }

    /// The transitions since the last drain, oldest first.
    pub fn drain_transitions(&mut self) -> std::vec::Drain<'_, Transition> {
        self.pending.drain(..)
    }

    /// Transitions dropped because more than [`MAX_PENDING_TRANSITIONS`] were not drained.
    pub const fn dropped_transitions(&self) -> u64 {
        self.dropped
    }

    fn set(&mut self, at: Time, to: BreakerState) {
        let from = std::mem::replace(&mut self.state, to);
        if self.pending.len() == MAX_PENDING_TRANSITIONS {
            self.pending.remove(0);
            self.dropped = self.dropped.saturating_add(1);
        }
        self.pending.push(Transition { at, from, to });
    }
}
