//! [`Outcome`]: what an answer says about the provider, from its HTTP status.
//!
//! The gateway is a client and retries what the official SDKs retry (openai-python and
//! anthropic-sdk-python, `_should_retry`): 408, 409, 429 and every status >= 500, plus
//! connection errors and timeouts (which a driver reports as 502 or 504). Those are the
//! provider's transient trouble, so they are also what a circuit breaker counts; 429 has its
//! own path (Retry-After, escalation). Everything else is the request's own fault (400 bad
//! JSON, 404 model, 413 or "Request too large", 422): sending it again cannot help, and one
//! tenant's malformed requests must not open the breaker for everyone, so the answer goes back
//! to the caller as it is.
//!
//! 401 and 403 are the exception: they refuse the key, and the key is the gateway's own in
//! every driver (serve sends its configured upstream key and never forwards a caller's; the
//! simulator's providers model the gateway's keys). A revoked, expired or unauthorised key is
//! the provider failing for every caller, and the fallback has a key of its own, so both count
//! as provider failures like a 5xx: the breaker counts them, so failover moves traffic away.
//! With a fallback the request is retried within its attempts, where failover routes the retry
//! (to the fallback once the breaker is open; the same key again before that, which only
//! hastens the breaker, as the attempts of a persistent 5xx do). Without one the refusal is
//! final ([`Outcome::KeyRefused`]): the only key there is would be refused again, so every
//! attempt would be a wasted call, and the caller is answered at once (serve: a 502 of its own,
//! since the provider's body names the gateway's key). The SDKs
//! do not retry 401/403 because their key is the caller's; the gateway's is not.
//!
//! 408 and 409 are decided together: the SDKs retry both because the same request may well
//! succeed a moment later (a server-side timeout, a lock conflict), which is a statement
//! about the provider, not the request, so both count as provider failures like a 5xx.
//! A refused answer's `x-should-retry: true|false` (OpenAI) overrides all of this for the
//! retry, as it does in the SDKs ([`Outcome::retryable_told`]): the server knows better than
//! its status whether the same call can succeed. The breaker still counts by status.

/// How a send ended, as the breaker, escalation and retries see it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A useful response.
    Success,
    /// A 429: retried after Retry-After, counts toward escalation and as a breaker failure.
    RateLimited,
    /// The provider's failure (5xx, 529, 408, 409, timeout, connection error): retried, and a
    /// breaker failure.
    Failed,
    /// A 401/403: the provider refused the gateway's own key. A breaker failure like
    /// [`Outcome::Failed`], but retried only when a fallback (with a key of its own) may take
    /// the retry.
    KeyRefused,
    /// The request's own error (another 4xx): not retried; the provider answered, so for its
    /// breaker it is a sign of life, and it says nothing about its quota.
    ClientError,
}

impl Outcome {
    /// The outcome of an answer with HTTP `status`, `accepted` if the provider took the call
    /// (a 2xx, or whatever the driver counts as one).
    pub const fn of(accepted: bool, status: u16) -> Outcome {
        match status {
            _ if accepted => Outcome::Success,
            429 => Outcome::RateLimited,
            408 | 409 => Outcome::Failed,
            // The gateway's own key is refused: the provider fails every caller.
            401 | 403 => Outcome::KeyRefused,
            s if s >= 500 => Outcome::Failed,
            400..=499 => Outcome::ClientError,
            // A refusal with a status that is not an error (a 200 carrying an error event,
            // a 3xx) is the provider's doing: treat it like a 5xx.
            _ => Outcome::Failed,
        }
    }

    /// Whether sending the same request again may succeed, `with_fallback` if there is a
    /// second provider for the retry to fail over to.
    pub const fn retryable(self, with_fallback: bool) -> bool {
        match self {
            Outcome::RateLimited | Outcome::Failed => true,
            Outcome::KeyRefused => with_fallback,
            Outcome::Success | Outcome::ClientError => false,
        }
    }

    /// [`Outcome::retryable`], unless the server said (`x-should-retry`, `told`): a refused
    /// call is then retried as it says. An accepted one never is, nor is a refused key sent
    /// again to the provider that refused it: it is the gateway's own credential, and the same
    /// one cannot succeed whatever the header says (with a fallback it still fails over).
    pub const fn retryable_told(self, with_fallback: bool, told: Option<bool>) -> bool {
        match (self, told) {
            (Outcome::Success, _) => false,
            (Outcome::KeyRefused, _) => self.retryable(with_fallback),
            (_, Some(told)) => told,
            (_, None) => self.retryable(with_fallback),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_the_sdks_retry_them() {
        for status in [408, 409, 500, 502, 503, 504, 529, 599, 200, 302] {
            assert_eq!(Outcome::of(false, status), Outcome::Failed, "{status}");
        }
        for status in [400, 404, 413, 422, 451] {
            assert_eq!(Outcome::of(false, status), Outcome::ClientError, "{status}");
            assert!(!Outcome::of(false, status).retryable(true));
        }
        for status in [401, 403] {
            let refused = Outcome::of(false, status);
            assert_eq!(refused, Outcome::KeyRefused, "{status}");
            assert!(
                refused.retryable(true) && !refused.retryable(false),
                "{status}"
            );
        }
        assert_eq!(Outcome::of(false, 429), Outcome::RateLimited);
        assert_eq!(Outcome::of(true, 200), Outcome::Success);
        for outcome in [Outcome::of(false, 429), Outcome::of(false, 503)] {
            assert!(outcome.retryable(false) && outcome.retryable(true));
        }
    }

    #[test]
    fn x_should_retry_overrides_the_status_as_in_the_sdks() {
        for status in [400, 422, 429, 503] {
            let refused = Outcome::of(false, status);
            for with_fallback in [false, true] {
                assert!(
                    refused.retryable_told(with_fallback, Some(true)),
                    "{status}"
                );
                assert!(
                    !refused.retryable_told(with_fallback, Some(false)),
                    "{status}"
                );
                assert_eq!(
                    refused.retryable_told(with_fallback, None),
                    refused.retryable(with_fallback),
                    "{status}"
                );
            }
        }
        // An accepted call has nothing to retry, whatever the header says.
        assert!(!Outcome::of(true, 200).retryable_told(true, Some(true)));
    }

    /// The gateway's own key refused: never sent again to the same provider, whatever the
    /// header says; with a fallback it fails over, whatever the header says.
    #[test]
    fn a_refused_key_is_not_retried_on_the_providers_word() {
        for status in [401, 403] {
            let refused = Outcome::of(false, status);
            for told in [Some(true), Some(false), None] {
                assert!(!refused.retryable_told(false, told), "{status} {told:?}");
                assert!(refused.retryable_told(true, told), "{status} {told:?}");
            }
        }
    }
}
