//! The settle step: what a limiter that charged an estimate does once the actual cost is
//! known. One rule for every place that settles — [`Layered::settle`](super::Layered::settle)
//! on its local buckets, and the Redis limiters, which turn the step into their script's
//! arguments — so that local and shared limits cannot drift apart on it.

use super::Charge;
use super::layered::{Demand, Reservation, Unit};

/// What settling one charge does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SettleStep {
    /// The actual cost was below the estimate: give back `cost` (the unused part) out of
    /// `charge`, the estimate as it was charged (a limiter refunds only what is still live of
    /// it: see [`Limiter::refund`](super::Limiter::refund)).
    Refund {
        /// The estimate's own charge.
        charge: Charge,
        /// Estimate − actual (never 0).
        cost: u64,
    },
    /// The actual cost was at least the estimate: consume `cost` more, without asking (it may
    /// put the limiter in debt: the honest outcome of an under-estimate). `cost` is 0 when the
    /// estimate was exact; whether a zero commit is sent at all is the caller's choice (it
    /// still moves a token bucket's TAT up to `now`).
    Commit {
        /// Actual − estimate.
        cost: u64,
    },
}

impl SettleStep {
    /// The step settling `charge` (the estimate, charged at `charge.at`) with `actual`.
    pub const fn new(charge: Charge, actual: u64) -> SettleStep {
        if actual < charge.cost {
            SettleStep::Refund {
                charge,
                cost: charge.cost - actual,
            }
        } else {
            SettleStep::Commit {
                cost: actual - charge.cost,
            }
        }
    }

    /// How much it refunds or commits.
    pub const fn cost(self) -> u64 {
        match self {
            SettleStep::Refund { cost, .. } | SettleStep::Commit { cost } => cost,
        }
    }
}

impl Reservation {
    /// The step settling this reservation with `actual` on a layer counting `unit`.
    pub const fn settle_step(&self, unit: Unit, actual: Demand) -> SettleStep {
        let charge = Charge {
            at: self.charged_at,
            cost: unit.cost(self.estimate),
        };
        SettleStep::new(charge, unit.cost(actual))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::Subject;
    use crate::time::Time;
    use proptest::prelude::*;

    /// What [`Layered::settle`](crate::limit::Layered::settle) did per layer before the step
    /// was shared: `Some((refund?, cost))`, `None` for nothing.
    fn core_before(estimated: u64, used: u64) -> Option<(bool, u64)> {
        if used < estimated {
            Some((true, estimated - used))
        } else if used > estimated {
            Some((false, used - estimated))
        } else {
            None
        }
    }

    /// What the Redis limiters sent per layer before (single and layered alike; the layered
    /// one then left out the layers with a zero cost): `(refund?, cost)`.
    fn redis_before(estimated: u64, used: u64) -> (bool, u64) {
        if used < estimated {
            (true, estimated - used)
        } else {
            (false, used - estimated)
        }
    }

    fn parts(step: SettleStep, at: Time, estimated: u64) -> (bool, u64) {
        match step {
            SettleStep::Refund { charge, cost } => {
                assert_eq!(
                    charge,
                    Charge {
                        at,
                        cost: estimated
                    }
                );
                (true, cost)
            }
            SettleStep::Commit { cost } => (false, cost),
        }
    }

    proptest! {
        #[test]
        fn the_step_is_what_each_side_did_before(
            estimate in (any::<u64>(), any::<u64>()),
            actual in (any::<u64>(), any::<u64>()),
            at in any::<u64>(),
        ) {
            let at = Time::from_nanos(at);
            let demand = |(requests, tokens)| Demand { requests, tokens };
            let reservation = Reservation {
                subject: Subject::default(),
                estimate: demand(estimate),
                charged_at: at,
            };
            for unit in [Unit::Requests, Unit::Tokens] {
                let (estimated, used) = (unit.cost(demand(estimate)), unit.cost(demand(actual)));
                let step = reservation.settle_step(unit, demand(actual));
                prop_assert_eq!(step, SettleStep::new(Charge { at, cost: estimated }, used));
                let (refund, cost) = parts(step, at, estimated);
                prop_assert_eq!((refund, cost), redis_before(estimated, used));
                // Core skips the zero commit (an exact estimate) that the Redis limiter sends.
                let core = (cost > 0).then_some((refund, cost));
                prop_assert_eq!(core, core_before(estimated, used));
            }
        }
    }

    #[test]
    fn a_refund_is_never_zero_and_an_exact_estimate_commits_zero() {
        let charge = Charge {
            at: Time::ZERO,
            cost: 10,
        };
        assert_eq!(
            SettleStep::new(charge, 3),
            SettleStep::Refund { charge, cost: 7 }
        );
        assert_eq!(SettleStep::new(charge, 10), SettleStep::Commit { cost: 0 });
        assert_eq!(SettleStep::new(charge, 12), SettleStep::Commit { cost: 2 });
    }
}
