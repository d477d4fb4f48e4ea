//! Test parts that count what the engine holds: a limiter that tracks its outstanding
//! reservations, and a budget on a real ledger.

use spillway_core::Time;
use spillway_core::budget::{
    CapSpec, CapTarget, CostEstimate, Ledger, ModelId, OnExhausted, Period, Ticket,
};
use spillway_core::engine::{Admitted, Limiter, Spend, SpendStep};
use spillway_core::limit::{Demand, Denial, Layered, LayeredError, Reservation, Scope, Subject};
use spillway_core::{Duration, Time as T};

/// Layers that count reservations: admitted minus settled.
pub struct Counting {
    pub layers: Layered,
    pub outstanding: i64,
}

impl Limiter for Counting {
    type Placement = ();

    fn admit(
        &mut self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
        class: usize,
    ) -> Result<Result<Admitted<()>, Denial>, LayeredError> {
        let decision = Limiter::admit(&mut self.layers, now, subject, estimate, class)?;
        if let Ok(admitted) = decision {
            self.outstanding += 1;
            // Every other admission pays a store round trip: the engine holds it meanwhile.
            let delay = Duration::from_millis((self.outstanding % 2) as u64 * 5);
            return Ok(Ok(Admitted {
                ready_at: now.saturating_add(delay),
                ..admitted
            }));
        }
        Ok(decision)
    }

    fn settle(&mut self, now: Time, reservation: Reservation, _: (), actual: Demand) {
        self.outstanding -= 1;
        assert!(self.outstanding >= 0, "settled more than reserved");
        Layered::settle(&mut self.layers, now, reservation, actual);
    }
}

/// A budget on a real ledger: one global daily cap; a blocked request is held until the reset
/// when `hold` is set, else refused. Cost: a nano-USD per token.
pub struct LedgerSpend {
    pub ledger: Ledger,
    pub hold: bool,
}

impl LedgerSpend {
    pub fn new(limit_nano_usd: u64, hold: bool) -> Self {
        let cap = CapSpec {
            name: "daily".into(),
            scope: Scope::Global,
            target: CapTarget::Each,
            period: Period::Day,
            limit_nano_usd,
            on_exhausted: OnExhausted::Queue,
        };
        let ledger = Ledger::new(vec![cap], 0).expect("one cap is valid");
        LedgerSpend { ledger, hold }
    }

    /// Nano-USD reserved and not yet settled, over every account.
    pub fn reserved(&self) -> u64 {
        self.ledger
            .caps()
            .flat_map(|(id, _)| self.ledger.accounts(id))
            .map(|(_, a)| a.reserved_nano_usd)
            .sum()
    }
}

impl Spend<u64> for LedgerSpend {
    fn key(&mut self, _: T, _: &u64) -> Option<u64> {
        Some(0)
    }

    fn decide(&mut self, now: T, tokens: &u64, _: usize, _: Option<u64>) -> SpendStep {
        let subject = Subject::default();
        match self.ledger.reserve(now, &subject, *tokens) {
            Ok(reservation) => SpendStep::Admit(Some(Ticket {
                requested: ModelId(0),
                estimate: CostEstimate {
                    model: ModelId(0),
                    input_tokens: *tokens,
                    output_tokens: 0,
                    cost_nano_usd: *tokens,
                },
                reservation,
            })),
            Err(blocked) if self.hold && !blocked.never_fits => SpendStep::Hold(blocked.reset_at),
            Err(_) => SpendStep::Refuse,
        }
    }

    fn complete(&mut self, now: T, ticket: Ticket, _: usize, input: u64, output: u64) -> u64 {
        let actual = input.saturating_add(output);
        self.ledger.settle(now, ticket.reservation, actual);
        actual
    }

    fn cancel(&mut self, now: T, ticket: Ticket) {
        self.ledger.settle(now, ticket.reservation, 0);
    }

    fn downgrade(&mut self, _: &mut Ticket, _: usize) {}
}
