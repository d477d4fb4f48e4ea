//! The engine's door: the limiter layers, however they are deployed. One process holds a
//! [`Layered`]; the simulator plugs in several instances sharing (or splitting) the limits.

use crate::Time;
use crate::limit::{Demand, Denial, Layered, LayeredError, Reservation, Subject};

/// An admission by the layers: what to settle later, where, and when the request may enter
/// the queue (later than now when the check itself took time, e.g. a shared store's round
/// trip).
#[derive(Copy, Clone, Debug)]
pub struct Admitted<P> {
    /// What the layers charged.
    pub reservation: Reservation,
    /// Where it was charged, to settle in the same place.
    pub placement: P,
    /// When the request enters the queue.
    pub ready_at: Time,
}

/// Limiter layers the engine reserves from at the door and settles on departure.
pub trait Limiter {
    /// Where a reservation lives (which instance), handed back to [`Limiter::settle`].
    type Placement: Copy;

    /// Reserve `estimate` for `subject` (of priority `class`) at `now`.
    ///
    /// # Errors
    /// A cost that can never fit (configuration error, not a denial).
    fn admit(
        &mut self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
        class: usize,
    ) -> Result<Result<Admitted<Self::Placement>, Denial>, LayeredError>;

    /// Settle a reservation with what the request really used.
    fn settle(
        &mut self,
        now: Time,
        reservation: Reservation,
        placement: Self::Placement,
        actual: Demand,
    );
}

impl Limiter for Layered {
    type Placement = ();

    fn admit(
        &mut self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
        _class: usize,
    ) -> Result<Result<Admitted<()>, Denial>, LayeredError> {
        Ok(self
            .reserve(now, subject, estimate)?
            .map(|reservation| Admitted {
                reservation,
                placement: (),
                ready_at: now,
            }))
    }

    fn settle(&mut self, now: Time, reservation: Reservation, _: (), actual: Demand) {
        Layered::settle(self, now, reservation, actual);
    }
}
