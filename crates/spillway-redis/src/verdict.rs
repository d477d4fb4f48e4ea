//! The answer of a Redis-backed call: the decision, the instant it was made at, and who made it
//! (Redis, or the failure policy while Redis was unavailable).

use crate::config::FailurePolicy;
use spillway_core::Time;
use spillway_core::limit::LimitSpec;

/// Who answered a call.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServedBy {
    /// The script on Redis: the shared, exact answer.
    Redis,
    /// Redis was unavailable; [`FailurePolicy::FailOpen`] admitted.
    FailOpen,
    /// Redis was unavailable; [`FailurePolicy::FailClosed`] denied.
    FailClosed,
    /// Redis was unavailable; this instance's local limiter answered
    /// ([`FailurePolicy::LocalFallback`]).
    LocalFallback,
}

/// A decision with its provenance.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Verdict<D> {
    /// The decision.
    pub decision: D,
    /// The instant it was made at: the caller's `now`, or Redis `TIME` with
    /// [`TimeSource::Redis`](crate::TimeSource::Redis) (the caller's `now` when no script ran:
    /// a failure-policy answer, or a zero cost a window admits without looking).
    pub now: Time,
    /// Who answered.
    pub served_by: ServedBy,
}

/// How long a demand the local share can never hold is told to wait while Redis is away:
/// it is refused until Redis answers again, and when that is is unknown, so "retry in a
/// second", as the gateway says for any store outage (the local share's own answer would be
/// `Time::MAX`: a `retry-after` of 584 years, which no client should be given).
pub(crate) const RETRY_WHILE_AWAY: spillway_core::Duration = spillway_core::Duration::from_secs(1);

/// What the policy does while Redis is unavailable, without the local state.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Degraded {
    Open,
    Closed(spillway_core::Duration),
    Local,
}

impl From<FailurePolicy> for Degraded {
    fn from(p: FailurePolicy) -> Self {
        match p {
            FailurePolicy::FailOpen => Degraded::Open,
            FailurePolicy::FailClosed { retry_after } => Degraded::Closed(retry_after),
            FailurePolicy::LocalFallback { .. } => Degraded::Local,
        }
    }
}

impl Degraded {
    /// The verdict at `now` while Redis is unavailable, for any decision type:
    /// `denied_until(now + wait)` when failing closed, and whatever `local` (the instance's
    /// share of the limit) decides otherwise, labelled fail-open or local fallback. One place, so the plain and the layered
    /// limiter cannot disagree on what a failure policy means.
    pub(crate) fn verdict<D>(
        self,
        now: Time,
        denied_until: impl FnOnce(Time) -> D,
        local: impl FnOnce() -> D,
    ) -> Verdict<D> {
        let (decision, served_by) = match self {
            // Bounded: the local share decides (an admission is still "fail open").
            Degraded::Open => (local(), ServedBy::FailOpen),
            Degraded::Closed(wait) => {
                (denied_until(now.saturating_add(wait)), ServedBy::FailClosed)
            }
            Degraded::Local => (local(), ServedBy::LocalFallback),
        };
        Verdict {
            decision,
            now,
            served_by,
        }
    }

    /// Who answers a charge, refund or settlement while Redis is unavailable: the local share
    /// (fail open, local fallback) records it (`local` applies it to that state); failing closed
    /// drops it.
    pub(crate) fn apply(self, local: impl FnOnce()) -> ServedBy {
        match self {
            Degraded::Open => {
                local();
                ServedBy::FailOpen
            }
            Degraded::Closed(_) => ServedBy::FailClosed,
            Degraded::Local => {
                local();
                ServedBy::LocalFallback
            }
        }
    }
}

/// Settle an admission that the failure policy answered, where it was charged: on the local
/// share (`local`) for fail open and local fallback, nowhere for fail closed (it admits
/// nothing); `None` when Redis admitted it, so Redis settles it. Why never Redis: the policy
/// charged only the local share, and if the lost acquire did land in Redis its cancellation
/// refunds it there (with [`RedisConfig::exact_accounting`](crate::RedisConfig) off it may stay
/// charged, at most once: a settle there could not tell whether it landed). One place, so the
/// plain and the layered limiter settle alike.
pub(crate) fn settle_off_redis(admitted_by: ServedBy, local: impl FnOnce()) -> Option<ServedBy> {
    match admitted_by {
        ServedBy::Redis => None,
        ServedBy::FailOpen | ServedBy::LocalFallback => {
            local();
            Some(admitted_by)
        }
        ServedBy::FailClosed => Some(admitted_by),
    }
}

/// `spec` shared by the instances (`LocalFallback`'s `instances`, or `replicas` when failing
/// open): limit and burst divided, rounded down, at least 1. This is what bounds an outage: each
/// instance admits at most its share, so the fleet at most about one `limit` per window on top
/// of what Redis had admitted.
pub(crate) fn local_share(
    spec: &LimitSpec,
    policy: FailurePolicy,
    replicas: u64,
) -> Option<LimitSpec> {
    let instances = match policy {
        FailurePolicy::LocalFallback { instances } => instances,
        FailurePolicy::FailOpen => replicas,
        FailurePolicy::FailClosed { .. } => return None,
    };
    let n = instances.max(1);
    Some(LimitSpec {
        limit: (spec.limit / n).max(1),
        burst: spec.burst.map(|b| (b / n).max(1)),
        ..*spec
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_redis_admission_settles_in_redis_and_an_open_one_on_the_local_share() {
        // (admitted by, settled in Redis, settled on the local share)
        let cases = [
            (ServedBy::Redis, true, false),
            (ServedBy::FailOpen, false, true),
            (ServedBy::LocalFallback, false, true),
            (ServedBy::FailClosed, false, false),
        ];
        for (admitted_by, in_redis, locally) in cases {
            let mut ran = false;
            let settled = settle_off_redis(admitted_by, || ran = true);
            let expected = (!in_redis).then_some(admitted_by);
            assert_eq!((settled, ran), (expected, locally), "{admitted_by:?}");
        }
    }
}
