//! [`EmulatedProvider`]: one upstream with a real provider's admission semantics, headers,
//! service times and failures.
//!
//! A call goes through, in order: completions due by `now` are settled (in-flight count,
//! Anthropic output tokens) → windows roll and the other tenants take their share → an outage
//! fails it → the concurrency cap → overload (random, rising with concurrency) → every limit
//! is checked, and only if all fit is any charged (a 429 charges nothing, except OpenAI's
//! request count). Completions are tracked inside, so the caller never reports them back.

use super::answer::{Answer, LimitedBy, MAX_WIRE_DIMS, Outcome, Wire, WireDim};
use super::calendar::WallClock;
use super::gates::{CallRequest, Charge, Gate, gates_for};
use super::latency::service_time;
use super::meter::Room;
use super::spec::{KindSpec, ProviderSpec};
use super::truth::QuotaTruth;
use crate::rng::{Concern, stream};
use crate::traffic::unit_f64;
use rand_chacha::ChaCha8Rng;
use spillway_core::engine::Timers;
use spillway_core::upstream::headers::Provider;
use spillway_core::{Duration, Time};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Stream index (under [`Concern::Provider`]) of service-time draws.
pub const STREAM_LATENCY: u32 = 0;
/// Stream index of overload draws.
pub const STREAM_OVERLOAD: u32 = 1;
/// Stream index of "does this 429 carry `retry-after`" draws (OpenAI).
pub const STREAM_RETRY_HINT: u32 = 2;

/// A call in flight: the output tokens to settle when it completes (its completion instant is
/// its key in the heap).
#[derive(Copy, Clone, Debug)]
struct InFlight {
    /// Output tokens reserved at admission (refunded down to `actual`).
    reserved: u64,
    actual: u64,
}

/// An emulated provider (see the module docs).
#[derive(Debug, Clone)]
pub struct EmulatedProvider {
    spec: ProviderSpec,
    label: Provider,
    clock: WallClock,
    gates: Vec<Gate>,
    /// Calls in flight by completion instant, ties in admission order (the core's timer heap:
    /// one integer comparison per level).
    in_flight: Timers<InFlight>,
    /// For [`KindSpec::Unlimited`]: when each busy server frees up (at most `concurrency`).
    servers: BinaryHeap<Reverse<Time>>,
    rng_latency: ChaCha8Rng,
    rng_overload: ChaCha8Rng,
    rng_hint: ChaCha8Rng,
    /// Whether accepted answers carry the numbers behind the rate-limit headers.
    success_headers: bool,
}

impl EmulatedProvider {
    /// A provider with full quotas at `Time::ZERO`; its randomness comes from `seed`'s
    /// [`Concern::Provider`] streams.
    pub fn new(spec: &ProviderSpec, seed: u64) -> Self {
        let clock = WallClock::new(spec.wall_clock_start);
        let label = match spec.kind {
            KindSpec::Anthropic { .. } => Provider::Anthropic,
            KindSpec::Azure { .. } => Provider::Azure,
            KindSpec::Gemini { .. } => Provider::Gemini,
            KindSpec::Generic { .. } | KindSpec::Unlimited => Provider::Generic,
            KindSpec::Basic { .. } | KindSpec::OpenAi { .. } => Provider::OpenAi,
        };
        EmulatedProvider {
            label,
            clock,
            gates: gates_for(&spec.kind, clock),
            spec: spec.clone(),
            in_flight: Timers::default(),
            servers: BinaryHeap::new(),
            rng_latency: stream(seed, Concern::Provider, STREAM_LATENCY),
            rng_overload: stream(seed, Concern::Provider, STREAM_OVERLOAD),
            rng_hint: stream(seed, Concern::Provider, STREAM_RETRY_HINT),
            success_headers: true,
        }
    }

    /// Whose header formats this provider speaks (parse its answers with this).
    pub fn label(&self) -> Provider {
        self.label
    }

    /// The spec this provider was built from.
    pub fn spec(&self) -> &ProviderSpec {
        &self.spec
    }

    /// The simulation's wall clock (for `Date` and absolute resets).
    pub fn clock(&self) -> WallClock {
        self.clock
    }

    /// A call arrives at `now`. Calls must come in non-decreasing `now` (earlier instants are
    /// tolerated, never a panic).
    pub fn call(&mut self, now: Time, req: &CallRequest) -> Answer {
        self.advance(now);
        if let Some(outage) = self
            .spec
            .outages
            .iter()
            .find(|o| o.start <= now && now < o.end)
        {
            return self.failure(now, Outcome::Unavailable, outage.status);
        }
        if !matches!(self.spec.kind, KindSpec::Unlimited)
            && self.in_flight.len() as u64 >= self.spec.concurrency
        {
            let wait = match self.spec.kind {
                KindSpec::Basic { .. } => Duration::from_secs(1),
                _ => self.next_completion().saturating_since(now),
            };
            return self.rate_limited(now, LimitedBy::Concurrency, wait, false);
        }
        if self.overloaded() {
            let status = if self.label == Provider::Anthropic {
                529
            } else {
                503
            };
            return self.failure(now, Outcome::Overloaded, status);
        }
        if let Some(refused) = self.refusal(now, req) {
            let (by, wait, never_fits) = match self.spec.kind {
                KindSpec::OpenAi {
                    count_rejected: true,
                    ..
                } => {
                    for g in self
                        .gates
                        .iter_mut()
                        .filter(|g| g.charge == Charge::Requests)
                    {
                        g.meter.commit(now, 1);
                    }
                    // The refused call itself pushed admission further out.
                    self.refusal(now, req).unwrap_or(refused)
                }
                _ => refused,
            };
            return self.rate_limited(now, by, wait, never_fits);
        }
        self.admit(now, req)
    }

    /// Whether accepted answers carry the numbers behind the rate-limit headers (on by
    /// default). A caller that never reads an accepted answer's headers turns this off: the
    /// simulator without a proactive policy spent ~5 % of its time computing them.
    pub fn set_success_headers(&mut self, on: bool) {
        self.success_headers = on;
    }

    /// Calls in flight (admitted, not yet complete) at the last call or [`Self::truth`].
    pub fn in_flight(&self) -> u64 {
        self.in_flight.len() as u64
    }

    /// The true state of every limit at `now`: what a client's local model should match.
    pub fn truth(&mut self, now: Time) -> Vec<QuotaTruth> {
        self.advance(now);
        self.gates
            .iter()
            .map(|g| {
                QuotaTruth::new(
                    g.by,
                    g.meter.limit(),
                    g.meter.remaining(now),
                    g.meter.reset_after(now),
                )
            })
            .collect()
    }

    /// Settle completions due by `now`, roll windows, let the other tenants take their share.
    fn advance(&mut self, now: Time) {
        while let Some(done_at) = self.in_flight.peek_time().filter(|&t| t <= now) {
            if let Some((_, call)) = self.in_flight.pop() {
                self.settle(done_at, call);
            }
        }
        for g in &mut self.gates {
            g.advance(now, &self.spec.shared_quota);
        }
    }

    fn settle(&mut self, done_at: Time, call: InFlight) {
        for g in &mut self.gates {
            g.meter.roll(done_at);
            match g.charge {
                Charge::OutputReserved if call.reserved > call.actual => {
                    g.meter.refund(done_at, call.reserved - call.actual);
                }
                Charge::OutputReserved if call.actual > call.reserved => {
                    g.meter.commit(done_at, call.actual - call.reserved);
                }
                Charge::OutputAtCompletion => g.meter.commit(done_at, call.actual),
                _ => {}
            }
        }
    }

    fn next_completion(&self) -> Time {
        self.in_flight.peek_time().unwrap_or(Time::ZERO)
    }

    fn overloaded(&mut self) -> bool {
        let Some(o) = self.spec.overload else {
            return false;
        };
        let util = self.in_flight.len() as f64 / self.spec.concurrency.max(1) as f64;
        let p = if util <= o.from || o.from >= 1.0 {
            0.0
        } else {
            (o.max_probability * (util - o.from) / (1.0 - o.from)).min(o.max_probability)
        };
        p > 0.0 && unit_f64(&mut self.rng_overload) < p
    }

    /// The limit with the longest wait, if any refuses `req` now.
    fn refusal(&self, now: Time, req: &CallRequest) -> Option<(LimitedBy, Duration, bool)> {
        let mut worst: Option<(LimitedBy, Duration, bool)> = None;
        for g in &self.gates {
            let (check, _) = g.charge.at_admission(req, g.meter.limit());
            match g.meter.check(now, check) {
                Room::Fits => {}
                Room::Never => return Some((g.by, Duration::MAX, true)),
                Room::After(wait) => {
                    if worst.is_none_or(|(_, w, _)| wait > w) {
                        worst = Some((g.by, wait, false));
                    }
                }
            }
        }
        worst
    }

    fn admit(&mut self, now: Time, req: &CallRequest) -> Answer {
        let mut reserved = 0;
        for g in &mut self.gates {
            let (_, commit) = g.charge.at_admission(req, g.meter.limit());
            g.meter.commit(now, commit);
            if g.charge == Charge::OutputReserved {
                reserved = commit;
            }
        }
        let service = service_time(&self.spec.latency, req.output_tokens, &mut self.rng_latency);
        let start = if matches!(self.spec.kind, KindSpec::Unlimited) {
            self.take_server(now)
        } else {
            now
        };
        let done_at = start.saturating_add(service);
        if matches!(self.spec.kind, KindSpec::Unlimited) {
            self.servers.push(Reverse(done_at));
        }
        self.in_flight.push(
            done_at,
            InFlight {
                reserved,
                actual: req.output_tokens,
            },
        );
        let wire = if self.success_headers {
            self.wire(now, None)
        } else {
            Wire {
                provider: self.label,
                date: self.clock.at(now),
                dims: [None; MAX_WIRE_DIMS],
                retry_after: None,
                rate_headers: false,
            }
        };
        Answer {
            outcome: Outcome::Accepted { done_at },
            status: 200,
            wire,
            body_retry_delay: None,
            answer_after: Duration::ZERO,
        }
    }

    /// FIFO over `concurrency` servers: the call starts when the earliest one frees up.
    fn take_server(&mut self, now: Time) -> Time {
        if (self.servers.len() as u64) < self.spec.concurrency {
            return now;
        }
        match self.servers.pop() {
            Some(Reverse(free_at)) => free_at.max(now),
            None => now,
        }
    }

    fn rate_limited(
        &mut self,
        now: Time,
        by: LimitedBy,
        wait: Duration,
        never_fits: bool,
    ) -> Answer {
        let (hint, body) = match self.spec.kind {
            _ if never_fits => (None, None),
            KindSpec::Basic { .. } => (Some(wait.max(Duration::from_secs(1))), None),
            KindSpec::OpenAi {
                retry_after_probability: p,
                ..
            } => {
                let sent = p >= 1.0 || (p > 0.0 && unit_f64(&mut self.rng_hint) < p);
                let ms = Duration::from_millis(super::format::ceil_millis(wait));
                (sent.then_some(wait), Some(ms))
            }
            KindSpec::Gemini { .. } => (None, Some(wait)),
            _ => (Some(wait), None),
        };
        Answer {
            outcome: Outcome::RateLimited {
                by,
                wait,
                never_fits,
            },
            status: 429,
            wire: self.wire(now, hint),
            body_retry_delay: body,
            answer_after: self.spec.error_latency,
        }
    }

    fn failure(&self, now: Time, outcome: Outcome, status: u16) -> Answer {
        let mut wire = self.wire(now, None);
        wire.rate_headers = false;
        Answer {
            outcome,
            status,
            wire,
            body_retry_delay: None,
            answer_after: self.spec.error_latency,
        }
    }

    /// The numbers behind the headers at `now`.
    fn wire(&self, now: Time, retry_after: Option<Duration>) -> Wire {
        let mut dims = [None; MAX_WIRE_DIMS];
        let mut n = 0;
        for g in &self.gates {
            if let (Some(name), true) = (g.wire_name, n < MAX_WIRE_DIMS) {
                dims[n] = Some(WireDim {
                    name,
                    limit: g.meter.limit(),
                    remaining: g.meter.remaining(now),
                    reset_after: g.meter.reset_after(now),
                });
                n += 1;
            }
        }
        if self.label == Provider::Anthropic && n < MAX_WIRE_DIMS {
            dims[n] = anthropic_total(&dims[..n]);
        }
        Wire {
            provider: self.label,
            date: self.clock.at(now),
            dims,
            retry_after,
            rate_headers: !matches!(
                self.spec.kind,
                KindSpec::Gemini { .. } | KindSpec::Unlimited
            ),
        }
    }
}

/// Anthropic's `tokens-*`: the input and output limits together (a live capture shows
/// 96000 = 80000 + 16000), reset when both are full.
fn anthropic_total(dims: &[Option<WireDim>]) -> Option<WireDim> {
    let tokens = dims
        .iter()
        .flatten()
        .filter(|d| d.name.ends_with("-tokens"));
    tokens.fold(None, |acc: Option<WireDim>, d| {
        Some(match acc {
            None => WireDim {
                name: "tokens",
                ..*d
            },
            Some(a) => WireDim {
                name: "tokens",
                limit: a.limit.saturating_add(d.limit),
                remaining: a.remaining.saturating_add(d.remaining),
                reset_after: a.reset_after.max(d.reset_after),
            },
        })
    })
}
