//! `Runtime::close` cuts what is still inside in a defined order (by request id), so that a
//! run's settlements do not depend on a hash map's iteration order.

use spillway_core::Time;
use spillway_core::engine::{Admitted, Limiter, NoSpend, RequestMeta, UpstreamConfig};
use spillway_core::limit::{
    Demand, Denial, LayerSpec, Layered, LayeredError, Reservation, Subject,
};
use spillway_core::upstream::BackoffConfig;

/// No limits; remembers the user of each settled reservation, in order.
struct Recording {
    layers: Layered,
    settled: Vec<u64>,
}

impl Limiter for Recording {
    /// The request's user.
    type Placement = u64;

    fn admit(
        &mut self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
        _: usize,
    ) -> Result<Result<Admitted<u64>, Denial>, LayeredError> {
        Ok(self
            .layers
            .reserve(now, subject, estimate)?
            .map(|reservation| Admitted {
                reservation,
                placement: subject.user,
                ready_at: now,
            }))
    }

    fn settle(&mut self, now: Time, reservation: Reservation, user: u64, actual: Demand) {
        self.settled.push(user);
        self.layers.settle(now, reservation, actual);
    }
}

#[tokio::test]
async fn close_cuts_the_requests_inside_in_id_order() {
    let limiter = Recording {
        layers: Layered::new(Vec::<LayerSpec>::new()).unwrap(),
        settled: Vec::new(),
    };
    let reactive = UpstreamConfig::reactive(BackoffConfig::default());
    let rt = super::layer_parts::start(limiter, NoSpend, reactive, &[]);
    // Users 1..=12 in admission order, which is id order in a fresh engine: 4 sent, 8 queued.
    let calls: Vec<_> = (1..=12)
        .map(|user| {
            let meta = RequestMeta {
                user,
                team: 0,
                feature: 0,
                class: 0,
                input_tokens: 1,
                output_estimate: 1,
                max_tokens: 1,
                payload: (),
            };
            rt.admit(meta).expect("admitted")
        })
        .collect();
    let mut by_id: Vec<_> = calls
        .iter()
        .zip(1..)
        .map(|(c, user)| (c.id(), user))
        .collect();
    by_id.sort_unstable();
    let users_by_id: Vec<u64> = by_id.iter().map(|&(_, user)| user).collect();
    rt.close();
    let settled = rt.with_state(|s, _| s.engine.limiter().settled.clone());
    assert_eq!(settled, users_by_id);
    drop(calls);
}
