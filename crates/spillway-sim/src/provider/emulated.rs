//! One provider with RPM, TPM and a concurrency cap, built on the core token bucket.

use crate::scenario::ProviderSpec;
use spillway_core::limit::{Decision, Gcra, Limiter};
use spillway_core::{Duration, Time};

const MINUTE: Duration = Duration::from_secs(60);
const SECOND_NS: u64 = 1_000_000_000;

/// Which provider limit refused a call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LimitedBy {
    /// Requests per minute.
    Requests,
    /// Tokens per minute.
    Tokens,
    /// Too many calls in flight.
    Concurrency,
}

/// The provider's answer to a call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Accepted; the response completes at `done_at`.
    Accepted {
        /// Completion instant.
        done_at: Time,
    },
    /// HTTP 429.
    RateLimited {
        /// The `Retry-After` the provider sends (whole seconds, rounded up, at least 1 s).
        retry_after: Duration,
        /// The limit that refused.
        by: LimitedBy,
    },
}

/// An emulated provider. Rejected calls do not consume quota here (later profiles model
/// providers that count them).
#[derive(Debug, Clone)]
pub struct EmulatedProvider {
    rpm: Gcra,
    tpm: Gcra,
    concurrency: u64,
    in_flight: u64,
    base: Duration,
    per_token: Duration,
}

impl EmulatedProvider {
    /// A provider with full buckets.
    pub fn new(spec: &ProviderSpec) -> Self {
        // Validated specs have non-zero limits; a zero would make `Gcra::new` return None, so
        // fall back to a bucket of 1 rather than panic.
        let bucket = |limit: u64| {
            Gcra::new(limit.max(1), limit.max(1), MINUTE)
                .unwrap_or_else(|| Gcra::new(1, 1, MINUTE).expect("1/min is a valid bucket"))
        };
        EmulatedProvider {
            rpm: bucket(spec.rpm),
            tpm: bucket(spec.tpm),
            concurrency: spec.concurrency,
            in_flight: 0,
            base: spec.latency_base,
            per_token: spec.latency_per_output_token,
        }
    }

    /// A call arrives at `now`.
    pub fn call(&mut self, now: Time, input_tokens: u64, output_tokens: u64) -> Answer {
        if self.in_flight >= self.concurrency {
            return Answer::RateLimited {
                retry_after: Duration::from_secs(1),
                by: LimitedBy::Concurrency,
            };
        }
        // A request larger than the whole TPM bucket is charged at the bucket size: real
        // providers reject such a request outright, which the gateway's own layers prevent.
        let tokens = input_tokens
            .saturating_add(output_tokens)
            .min(self.tpm.capacity());
        let by_requests = self.rpm.check(now, 1);
        let by_tokens = self.tpm.check(now, tokens);
        let worst = match (by_requests, by_tokens) {
            (Ok(Decision::Allowed), Ok(Decision::Allowed)) => None,
            (Ok(Decision::Denied { retry_at: a }), Ok(Decision::Denied { retry_at: b })) => {
                Some(if a >= b {
                    (a, LimitedBy::Requests)
                } else {
                    (b, LimitedBy::Tokens)
                })
            }
            (Ok(Decision::Denied { retry_at }), _) => Some((retry_at, LimitedBy::Requests)),
            (_, Ok(Decision::Denied { retry_at })) => Some((retry_at, LimitedBy::Tokens)),
            _ => Some((now.saturating_add(MINUTE), LimitedBy::Tokens)),
        };
        if let Some((retry_at, by)) = worst {
            let wait_ns = retry_at.saturating_since(now).as_nanos();
            let whole_secs = wait_ns.div_ceil(SECOND_NS).max(1);
            return Answer::RateLimited {
                retry_after: Duration::from_secs(whole_secs),
                by,
            };
        }
        self.rpm.commit(now, 1);
        self.tpm.commit(now, tokens);
        self.in_flight += 1;
        let service = self
            .base
            .saturating_add(self.per_token.saturating_mul(output_tokens));
        Answer::Accepted {
            done_at: now.saturating_add(service),
        }
    }

    /// A response finished: frees a concurrency slot.
    pub fn finish(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Calls being served.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Price;

    fn spec(rpm: u64, tpm: u64) -> ProviderSpec {
        ProviderSpec {
            name: "test".into(),
            rpm,
            tpm,
            concurrency: 1000,
            latency_base: Duration::from_millis(100),
            latency_per_output_token: Duration::from_millis(1),
            price: Price::default(),
        }
    }

    #[test]
    fn a_full_bucket_admits_exactly_the_rpm_then_429s_with_retry_after() {
        let mut p = EmulatedProvider::new(&spec(500, 10_000_000));
        let t = Time::from_secs(10);
        let admitted = (0..600)
            .filter(|_| matches!(p.call(t, 10, 10), Answer::Accepted { .. }))
            .count();
        assert_eq!(admitted, 500);
        assert_eq!(
            p.call(t, 10, 10),
            Answer::RateLimited {
                retry_after: Duration::from_secs(1),
                by: LimitedBy::Requests
            }
        );
    }

    #[test]
    fn service_time_is_base_plus_per_token() {
        let mut p = EmulatedProvider::new(&spec(10, 10_000));
        assert_eq!(
            p.call(Time::ZERO, 50, 200),
            Answer::Accepted {
                done_at: Time::from_nanos(300_000_000)
            }
        );
    }
}
