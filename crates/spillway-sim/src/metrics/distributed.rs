//! What running several gateway instances costs: admissions beyond the true limit, and time
//! spent asking a shared store.

/// Counters of a policy's instances (all zero but `exact_admitted` for a single instance).
///
/// **Over-admission.** A shadow limiter — one exact [`Layered`](spillway_core::limit::Layered)
/// with the policy's full layers, the "true limit" — is offered every request the instances
/// admit, at the same instant and with the same estimate, and settled like it. A request it
/// would deny is *over-admitted* (and charges nothing in the shadow: the true limit would not
/// have let it in). `over_admission_pct = 100 × over_admitted / exact_admitted`, where
/// `exact_admitted` are the admitted requests the shadow also admits. It measures admissions
/// beyond the limit, not admissions missed (under-admission shows as `rejected` against the
/// single-instance baseline). A single instance or a `central` store *is* the exact limiter:
/// no shadow runs, every admission is exact, the value is 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistributedStats {
    /// Gateway instances (1 when the policy declares none).
    pub instances: u32,
    /// Admitted requests the true limit would have denied, per class.
    pub over_admitted: [u64; 4],
    /// Admitted requests the true limit also admits, per class.
    pub exact_admitted: [u64; 4],
    /// Limiter checks sent to the shared store (`central`): one per arrival.
    pub store_round_trips: u64,
    /// Sum of the round trips of those checks, added to the admitted requests' latency.
    pub added_latency_ns: u64,
    /// Syncs that exchanged usage (`async-sync`).
    pub syncs: u64,
    /// Most requests one instance admitted between two syncs (`async-sync`): the quantity
    /// that bounds over-admission (see `distributed::async_sync`).
    pub max_admitted_between_syncs: u64,
}

impl DistributedStats {
    /// Over-admission in percent of the exact admissions of `class` (`None`: all classes);
    /// `None` when nothing was admitted.
    pub fn over_admission_pct(&self, class: Option<usize>) -> Option<f64> {
        let (over, exact) = match class {
            Some(c) => (*self.over_admitted.get(c)?, *self.exact_admitted.get(c)?),
            None => (
                self.over_admitted.iter().sum::<u64>(),
                self.exact_admitted.iter().sum::<u64>(),
            ),
        };
        (exact > 0).then(|| over as f64 * 100.0 / exact as f64)
    }

    /// Mean round trip added per store check, in nanoseconds (`None` without a store).
    pub fn added_latency_mean_ns(&self) -> Option<f64> {
        (self.store_round_trips > 0)
            .then(|| self.added_latency_ns as f64 / self.store_round_trips as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_of_exact_admissions_and_undefined_without_any() {
        let mut s = DistributedStats::default();
        assert_eq!(s.over_admission_pct(None), None);
        s.exact_admitted = [200, 0, 0, 0];
        s.over_admitted = [10, 0, 0, 0];
        assert_eq!(s.over_admission_pct(None), Some(5.0));
        assert_eq!(s.over_admission_pct(Some(0)), Some(5.0));
        assert_eq!(s.over_admission_pct(Some(1)), None);
        assert_eq!(s.over_admission_pct(Some(9)), None);
    }
}
