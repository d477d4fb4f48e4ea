//! [`RedisReservation`]: a reservation together with who charged its admission, so that its
//! settle goes where the estimate was charged and nowhere else. The layered limiter's holds
//! spillway-core's [`Reservation`]; the single limiter's a [`KeyReservation`].

use crate::verdict::ServedBy;
use spillway_core::Time;
use spillway_core::limit::Reservation;

/// An admitted estimate of [`RedisLayered`](crate::RedisLayered) (`R` = spillway-core's
/// [`Reservation`]) or [`RedisLimiter`](crate::RedisLimiter) (`R` = [`KeyReservation`]), to be
/// settled with that limiter's `settle`.
///
/// Why not the reservation alone: during an outage the failure policy admits, charging this
/// instance's local share (fail open, local fallback), not Redis. Its acquire may still land
/// in Redis, but the store then sends a cancellation that refunds it (with exact accounting
/// off there is none: it may stay charged there, at most once). Settling such a reservation in
/// Redis would refund `estimate − actual` a second time (room nobody charged) or commit a
/// difference on top of nothing. So the reservation carries who admitted it, and only the
/// limiters' `reserve` makes one: a settle cannot be pointed at the wrong state.
#[must_use = "a reservation must be settled, or its estimate stays charged"]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RedisReservation<R = Reservation> {
    reservation: R,
    charged_by: ServedBy,
}

/// What a [`RedisLimiter`](crate::RedisLimiter) reservation charged: the caller's key and the
/// estimate, kept together so that a settle cannot land on another key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyReservation {
    /// The caller's key the estimate was charged to.
    pub key: String,
    /// What was charged at admission.
    pub estimate: u64,
    /// When (the acquire's instant, Redis TIME on Redis time): the settle's refund comes out
    /// of this charge only.
    pub charged_at: Time,
}

impl<R> RedisReservation<R> {
    /// `reservation`, admitted by `charged_by` (Redis, or the failure policy).
    pub(crate) fn new(reservation: R, charged_by: ServedBy) -> Self {
        RedisReservation {
            reservation,
            charged_by,
        }
    }

    /// Who admitted it, so where its estimate is charged: [`ServedBy::Redis`] (settled in
    /// Redis), [`ServedBy::FailOpen`] or [`ServedBy::LocalFallback`] (settled on the local
    /// share only).
    pub fn charged_by(&self) -> ServedBy {
        self.charged_by
    }

    /// The reservation and who admitted it, for the limiter's settle.
    pub(crate) fn into_parts(self) -> (R, ServedBy) {
        (self.reservation, self.charged_by)
    }
}

impl RedisReservation<Reservation> {
    /// Who reserved what: spillway-core's reservation (e.g. to settle a mirror of the layers).
    pub fn reservation(&self) -> Reservation {
        self.reservation
    }
}

impl RedisReservation<KeyReservation> {
    /// The key and the estimate charged.
    pub fn reservation(&self) -> &KeyReservation {
        &self.reservation
    }
}
