//! `async-sync`: every instance counts locally against the full limit and, at every
//! `sync_interval`, learns what the others admitted (and settled) since the previous sync.
//!
//! **What a sync does.** At each multiple of the interval, every instance's view is charged
//! with the other instances' usage since the last sync — their admissions' estimates and their
//! settlements' corrections — replayed through [`Layered::settle`] at the sync instant. Usage
//! is charged *at the sync instant*, not when it happened: a sliding window forgets it up to
//! one interval late, and a fixed window may count it in the next window (a conservative
//! error: it only ever denies more). A replayed settlement refunds against that same sync
//! instant, where the others counted the charge.
//!
//! **How far it over-admits.** Take a limit `L` that does not refill during the run (a window
//! longer than the run: a budget). At a sync every instance learns the total usage `U`; until
//! the next one, instance `i` sees `U + a_i` (its own admissions `a_i` since the sync) and so
//! admits while `U + a_i < L`. Together they reach `U + Σ a_i`; the exact limit would have
//! stopped at `L ≥ U + max a_i`. The excess is at most `Σ a_i − max a_i ≤ (N − 1) × A`, with
//! `A` the most one instance admits between two syncs
//! ([`DistributedStats::max_admitted_between_syncs`](crate::metrics::DistributedStats)).
//! After the sync at which the total passes `L` every view is full, so this is also the bound
//! for the whole run. (For refilling limits the same argument bounds the excess per interval.)
//!
//! Memory: the usage log holds one entry per admission and settlement since the last sync, so
//! it is bounded by the traffic of one interval, never by the run's length.

use spillway_core::limit::{Demand, Denial, Layered, LayeredError, Reservation, Subject};
use spillway_core::{Duration, Time};

/// One thing an instance did to its own view, to be replayed on the others.
#[derive(Debug, Clone, Copy)]
enum Usage {
    /// An admission's estimate.
    Charged(Subject, Demand),
    /// A settlement: the estimate corrected to the actual demand.
    Settled(Reservation, Demand),
}

/// The instances' views and the usage they have not shared yet.
#[derive(Debug, Clone)]
pub(crate) struct AsyncViews {
    views: Vec<Layered>,
    unshared: Vec<Vec<Usage>>,
    admitted_since_sync: Vec<u64>,
    interval: Duration,
    next_sync: Time,
    pub(crate) syncs: u64,
    pub(crate) max_admitted_between_syncs: u64,
}

impl AsyncViews {
    /// `views`: one full-limit [`Layered`] per instance. The first sync is one interval in.
    pub(crate) fn new(views: Vec<Layered>, interval: Duration) -> Self {
        let n = views.len();
        AsyncViews {
            views,
            unshared: vec![Vec::new(); n],
            admitted_since_sync: vec![0; n],
            interval,
            next_sync: Time::ZERO.saturating_add(interval),
            syncs: 0,
            max_admitted_between_syncs: 0,
        }
    }

    /// Instance `instance` asks its own view at `now` (after any sync due by `now`).
    pub(crate) fn reserve(
        &mut self,
        now: Time,
        instance: usize,
        subject: &Subject,
        estimate: Demand,
    ) -> Result<Result<Reservation, Denial>, LayeredError> {
        self.catch_up(now);
        let decision = self.views[instance].reserve(now, subject, estimate)?;
        if decision.is_ok() {
            self.unshared[instance].push(Usage::Charged(*subject, estimate));
            let admitted = &mut self.admitted_since_sync[instance];
            *admitted += 1;
            self.max_admitted_between_syncs = self.max_admitted_between_syncs.max(*admitted);
        }
        Ok(decision)
    }

    /// Settle on the instance that admitted; the others learn the correction at the next sync.
    pub(crate) fn settle(
        &mut self,
        now: Time,
        instance: usize,
        reservation: Reservation,
        actual: Demand,
    ) {
        self.catch_up(now);
        if let Some(view) = self.views.get_mut(instance) {
            view.settle(now, reservation, actual);
            // The others were charged at the sync that shared the admission, not at its local
            // instant: their refund must look there, or a fixed window that counted the
            // replayed charge in the next window gives nothing back.
            let replayed = Reservation {
                charged_at: self.sync_after(reservation.charged_at),
                ..reservation
            };
            self.unshared[instance].push(Usage::Settled(replayed, actual));
        }
    }

    /// The sync that shares usage recorded at `t`: the first multiple of the interval after
    /// `t` (a sync at `t` itself has already run, since every call catches up first).
    fn sync_after(&self, t: Time) -> Time {
        let step = self.interval.as_nanos().max(1);
        let syncs = (t.as_nanos() / step).saturating_add(1);
        Time::from_nanos(syncs.saturating_mul(step))
    }

    /// Run the sync due at or before `now`, if any. Everything unshared happened before that
    /// sync (each call catches up first), so one sync shares it all and the later sync
    /// instants up to `now` would have nothing to exchange: they are skipped in O(1).
    fn catch_up(&mut self, now: Time) {
        if self.next_sync > now {
            return;
        }
        self.sync(self.next_sync);
        self.next_sync = self.sync_after(now);
    }

    /// Every instance learns the others' unshared usage at `at`.
    fn sync(&mut self, at: Time) {
        if self.unshared.iter().all(Vec::is_empty) {
            self.admitted_since_sync.fill(0);
            return;
        }
        self.syncs += 1;
        for (j, view) in self.views.iter_mut().enumerate() {
            let others = self
                .unshared
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != j)
                .flat_map(|(_, log)| log.iter());
            for usage in others {
                replay(view, at, *usage);
            }
        }
        self.unshared.iter_mut().for_each(Vec::clear);
        self.admitted_since_sync.fill(0);
    }
}

/// Apply another instance's usage to a view through the public settle path: a charge is a
/// settlement of an empty estimate.
fn replay(view: &mut Layered, at: Time, usage: Usage) {
    match usage {
        Usage::Charged(subject, demand) => {
            // Nothing to refund, so `charged_at` is never read.
            let nothing = Reservation {
                subject,
                estimate: Demand::default(),
                charged_at: at,
            };
            view.settle(at, nothing, demand);
        }
        Usage::Settled(reservation, actual) => view.settle(at, reservation, actual),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::limit::{Algorithm, LayerSpec, LimitSpec, Scope, Unit};

    fn global(limit: u64) -> Layered {
        layer(Unit::Requests, Algorithm::SlidingLog, limit, 3600)
    }

    fn layer(unit: Unit, algorithm: Algorithm, limit: u64, window_secs: u64) -> Layered {
        Layered::new(vec![LayerSpec {
            name: "g".into(),
            scope: Scope::Global,
            unit,
            limit: LimitSpec {
                algorithm,
                limit,
                window: Duration::from_secs(window_secs),
                burst: None,
            },
        }])
        .unwrap()
    }

    const fn tokens(tokens: u64) -> Demand {
        Demand {
            requests: 1,
            tokens,
        }
    }

    const ONE: Demand = Demand {
        requests: 1,
        tokens: 0,
    };

    #[test]
    fn instances_over_admit_until_the_sync_then_agree() {
        let mut a = AsyncViews::new(vec![global(4), global(4)], Duration::from_secs(1));
        let who = Subject::default();
        let t = Time::from_nanos(500_000_000);
        // Before the first sync each instance admits the full limit: 8 against a limit of 4.
        for i in 0..2 {
            for _ in 0..4 {
                assert!(a.reserve(t, i, &who, ONE).unwrap().is_ok());
            }
            assert!(a.reserve(t, i, &who, ONE).unwrap().is_err());
        }
        assert_eq!(a.max_admitted_between_syncs, 4);
        // After the sync, each knows all 8: nothing more fits.
        let later = Time::from_nanos(1_500_000_000);
        assert!(a.reserve(later, 0, &who, ONE).unwrap().is_err());
        assert!(a.reserve(later, 1, &who, ONE).unwrap().is_err());
        assert_eq!(a.syncs, 1);
    }

    #[test]
    fn quiet_stretches_skip_syncs_without_looping() {
        let mut a = AsyncViews::new(vec![global(4), global(4)], Duration::from_nanos(1));
        let who = Subject::default();
        assert!(a.reserve(Time::ZERO, 0, &who, ONE).unwrap().is_ok());
        assert!(
            a.reserve(Time::from_secs(86_400), 1, &who, ONE)
                .unwrap()
                .is_ok()
        );
        assert_eq!(a.syncs, 1);
        assert!(a.next_sync > Time::from_secs(86_400));
    }

    #[test]
    fn a_replayed_settle_refunds_in_the_window_of_the_replayed_charge() {
        // Charged at 59 s, shared at the sync at 61 s: the others count it in [60 s, 120 s),
        // so the refund of 90 of its 100 tokens must come back there.
        let fixed = || layer(Unit::Tokens, Algorithm::FixedWindow, 100, 60);
        let mut a = AsyncViews::new(vec![fixed(), fixed()], Duration::from_secs(61));
        let who = Subject::default();
        let r = a
            .reserve(Time::from_secs(59), 0, &who, tokens(100))
            .unwrap()
            .unwrap();
        a.settle(Time::from_nanos(59_500_000_000), 0, r, tokens(10));
        // Instance 1, after the sync, sees 10 of 100 used: 90 more fit, 91 do not.
        let later = Time::from_secs(62);
        assert!(a.reserve(later, 1, &who, tokens(91)).unwrap().is_err());
        assert!(a.reserve(later, 1, &who, tokens(90)).unwrap().is_ok());
        assert_eq!(a.syncs, 1);
    }

    #[test]
    fn usage_is_shared_at_the_first_sync_after_it() {
        let a = AsyncViews::new(vec![global(1)], Duration::from_secs(2));
        assert_eq!(a.sync_after(Time::ZERO), Time::from_secs(2));
        assert_eq!(a.sync_after(Time::from_secs(3)), Time::from_secs(4));
        assert_eq!(a.sync_after(Time::from_secs(4)), Time::from_secs(6));
    }
}
