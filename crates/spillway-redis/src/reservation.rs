//! [`RedisReservation`]: a layered reservation together with who charged its admission, so
//! that its settle goes where the estimate was charged and nowhere else.

use crate::verdict::ServedBy;
use spillway_core::limit::Reservation;

/// An admitted estimate of [`RedisLayered`](crate::RedisLayered), to be settled with
/// [`RedisLayered::settle`](crate::RedisLayered::settle).
///
/// Why not spillway-core's [`Reservation`] alone: during an outage the failure policy admits,
/// charging this instance's local share (fail open, local fallback), not Redis. Its acquire
/// may still land in Redis, but the store then sends a cancellation that refunds it (with
/// exact accounting off there is none: it may stay charged there, at most once). Settling
/// such a reservation in Redis would refund `estimate − actual` a second time (room nobody
/// charged) or commit a difference on top of nothing. So the reservation carries who admitted
/// it, and only [`RedisLayered::reserve`](crate::RedisLayered::reserve) makes one: a settle
/// cannot be pointed at the wrong state.
#[must_use = "a reservation must be settled, or its estimate stays charged"]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RedisReservation {
    reservation: Reservation,
    charged_by: ServedBy,
}

impl RedisReservation {
    /// `reservation`, admitted by `charged_by` (Redis, or the failure policy).
    pub(crate) fn new(reservation: Reservation, charged_by: ServedBy) -> Self {
        RedisReservation {
            reservation,
            charged_by,
        }
    }

    /// Who reserved what: spillway-core's reservation (e.g. to settle a mirror of the layers).
    pub fn reservation(&self) -> Reservation {
        self.reservation
    }

    /// Who admitted it, so where its estimate is charged: [`ServedBy::Redis`] (settled in
    /// Redis), [`ServedBy::FailOpen`] or [`ServedBy::LocalFallback`] (settled on the local
    /// share only).
    pub fn charged_by(&self) -> ServedBy {
        self.charged_by
    }
}
