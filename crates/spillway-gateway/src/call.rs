//! One admitted request as its handler sees it: wait for the engine's turn, report the
//! upstream's answer and the usage; a drop guard cancels it in the engine on every other way
//! out (client disconnect, handler error, panic), so no reservation can leak. A call that
//! leaves after its send, unanswered or accepted, is billed: the provider has its prompt.

use crate::runtime::Shared;
use rand_core::Rng;
use spillway_core::clock::Clock;
use spillway_core::engine::{Completion, Departure, Dispatch, Limiter, RequestId, Response, Spend};
use std::sync::Arc;
use tokio::sync::mpsc;

/// What the engine tells a waiting request.
#[derive(Debug, Clone, Copy)]
pub enum Step<M> {
    /// Send it upstream now (`attempt` 1 first, more after a refused answer).
    Send(Dispatch<M>),
    /// It left the engine without a (further) send.
    Left(Departure),
}

/// An admitted request; see the module docs.
pub struct Call<M, L: Limiter, S, R>
where
    M: Copy,
    S: Spend<M>,
    R: Rng,
{
    shared: Arc<Shared<M, L, S, R>>,
    id: RequestId,
    steps: mpsc::UnboundedReceiver<Step<M>>,
    finished: bool,
    /// Its handler took a send and has no answer that refused it: the call may be on the wire
    /// (or accepted), so leaving now bills it ([`Engine::on_cancel_sent`]).
    ///
    /// [`Engine::on_cancel_sent`]: spillway_core::engine::Engine::on_cancel_sent
    sent: bool,
}

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Call<M, L, S, R> {
    pub(crate) fn new(
        shared: Arc<Shared<M, L, S, R>>,
        id: RequestId,
        steps: mpsc::UnboundedReceiver<Step<M>>,
    ) -> Self {
        Call {
            shared,
            id,
            steps,
            finished: false,
            sent: false,
        }
    }

    /// The engine's id of this request.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// Wait for the next step: the priority queue, Retry-After, backoff and deadlines all
    /// happen here. After a [`Step::Left`] the call is over.
    pub async fn next(&mut self) -> Step<M> {
        let step = self
            .steps
            .recv()
            .await
            .unwrap_or(Step::Left(Departure::Failed));
        match step {
            Step::Send(_) => self.sent = true,
            Step::Left(_) => self.finished = true,
        }
        step
    }

    /// Whether the send just taken is on the wire yet: a driver that waits for its client
    /// before sending (the tower layer, for its inner service's readiness) says `false` until
    /// it hands the request over, so that being dropped meanwhile is a cancel before the
    /// wire (not billed), not one of a call the provider may have.
    pub(crate) fn on_the_wire(&mut self, sent: bool) {
        self.sent = sent;
    }

    /// The upstream answered the last send (status and headers). A refusal makes the engine
    /// retry it (the next [`Call::next`] is another send) or give up.
    pub fn respond(&mut self, response: &Response) {
        // A refused call is over at the provider; an accepted one is billed however it ends.
        self.sent = response.accepted;
        let mut state = self.shared.lock();
        let now = self.shared.clock.now();
        state.engine.on_response(now, self.id, response);
        self.shared.settle(&mut state, now);
    }

    /// The accepted call used at least this many tokens so far (a stream's usage as it
    /// passes): what the engine books if the call leaves before it completes.
    pub fn progress(&self, input_tokens: u64, output_tokens: u64) {
        let mut state = self.shared.lock();
        let now = self.shared.clock.now();
        state
            .engine
            .on_progress(now, self.id, input_tokens, output_tokens);
    }

    /// The last send went unanswered for the driver's whole timeout, or its connection broke
    /// after the send: the call leaves billed (the provider may have it; it is not sent
    /// again) and its provider's breaker counts a failure ([`Engine::on_timed_out_sent`]).
    ///
    /// [`Engine::on_timed_out_sent`]: spillway_core::engine::Engine::on_timed_out_sent
    pub fn timed_out(mut self) {
        self.finished = true;
        let mut state = self.shared.lock();
        let now = self.shared.clock.now();
        state.engine.on_timed_out_sent(now, self.id);
        self.shared.settle(&mut state, now);
    }

    /// The accepted call finished with this usage: the layers settle to it.
    pub fn complete(mut self, usage: Completion) {
        self.finished = true;
        let mut state = self.shared.lock();
        let now = self.shared.clock.now();
        state.engine.on_complete(now, self.id, usage);
        self.shared.settle(&mut state, now);
    }
}

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Drop for Call<M, L, S, R> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut state = self.shared.lock();
        let now = self.shared.clock.now();
        if self.sent {
            state.engine.on_cancel_sent(now, self.id);
        } else {
            state.engine.on_cancel(now, self.id);
        }
        self.shared.settle(&mut state, now);
    }
}
