//! The real-time loop: send each planned request at its (scaled) time, at most
//! `max_in_flight` at once, every call under a timeout; collect the answers as they come.
//!
//! One task owns the [`Observer`] (no lock): it sleeps until the next request is due, wakes
//! early for any answer or for the shutdown signal, and ends when the plan is exhausted and
//! every call has been answered or timed out (so it always ends). A request due while the cap
//! is reached is not sent and counts as failed (`not sent: client cap`): waiting would shift
//! every later arrival and hide the overload the run is meant to show.

use crate::body::{chat_body, identity};
use crate::observe::{Observed, Observer};
use crate::outcome::{Outcome, REJECTED_BY_HEADER, classify, transport_reason};
use crate::plan::{Plan, Planned};
use spillway_core::clock::{Clock, RealClock};
use spillway_core::{Duration, Time};
use spillway_emulate::TimeScale;
use std::collections::BTreeMap;
use std::future::Future;
use tokio::task::JoinSet;

/// Largest response body read (the rest is ignored: a completion is far smaller).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Reason of a request due while `max_in_flight` calls were open.
pub const CLIENT_CAP: &str = "not sent: client cap (--max-in-flight)";

/// How to send.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The full URL requests are posted to (…/v1/chat/completions).
    pub url: reqwest::Url,
    /// The `model` of every request.
    pub model: String,
    /// How many times faster than the scenario's time the replay runs.
    pub scale: TimeScale,
    /// Calls open at once, at most.
    pub max_in_flight: usize,
    /// Real-time limit of one call, connection to last body byte.
    pub timeout: std::time::Duration,
}

/// Progress so far, for a progress bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// Simulated seconds of traffic sent so far.
    pub sim_s: u64,
    /// Requests sent (or counted as not sent).
    pub offered: u64,
    /// Answers received (any kind).
    pub answered: u64,
    /// Calls open now.
    pub in_flight: u64,
}

/// How the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every planned request was sent and answered (or failed).
    Complete,
    /// The shutdown signal came first: what was seen so far.
    Interrupted,
}

/// One answered call.
struct Done {
    planned: Planned,
    real: Time,
    outcome: Outcome,
}

/// The loop's state: what is open, what was seen.
struct Replay<'a> {
    config: &'a LoadConfig,
    client: reqwest::Client,
    features: std::sync::Arc<[String]>,
    clock: RealClock,
    calls: JoinSet<Done>,
    open: BTreeMap<u64, Planned>,
    observer: Observer,
    progress: Tick,
}

impl Replay<'_> {
    /// Real time until `p` is due (zero if late).
    fn until_due(&self, p: &Planned) -> std::time::Duration {
        let due = self
            .config
            .scale
            .to_real(p.arrival.at.saturating_since(Time::ZERO));
        let now = Duration::from_nanos(self.clock.now().as_nanos());
        std::time::Duration::from_nanos(due.saturating_sub(now).as_nanos())
    }

    /// Count an answered (or aborted) call.
    fn answered(&mut self, joined: Result<Done, tokio::task::JoinError>) {
        let Ok(done) = joined else { return };
        self.open.remove(&done.planned.seq);
        let at = sim_time(self.config.scale, done.real);
        self.observer.answered(&done.planned, at, &done.outcome);
        self.progress.answered += 1;
    }

    /// `p` is due: send it, unless the cap is reached (calls already answered are counted
    /// first, so the cap counts only calls really open).
    fn send(&mut self, p: Planned) {
        while let Some(joined) = self.calls.try_join_next() {
            self.answered(joined);
        }
        self.observer.offered(&p);
        self.progress.offered += 1;
        self.progress.sim_s = p.arrival.at.as_nanos() / 1_000_000_000;
        if self.calls.len() >= self.config.max_in_flight {
            self.observer.not_sent(&p, CLIENT_CAP);
            return;
        }
        self.observer
            .sent(sim_time(self.config.scale, self.clock.now()));
        self.open.insert(p.seq, p.clone());
        let (client, config) = (self.client.clone(), self.config.clone());
        let features = self.features.clone();
        self.calls
            .spawn(call(client, config, self.clock, features, p));
    }

    /// Stop: open calls are dropped and count as unfinished.
    fn close(mut self) -> Observed {
        self.calls.abort_all();
        for p in self.open.values() {
            self.observer.unfinished(p);
        }
        let end = sim_time(self.config.scale, self.clock.now());
        self.observer.finish(end)
    }
}

/// Replay `plan` against `config.url`; `observer` collects, `tick` hears progress, `shutdown`
/// interrupts. Returns what was observed, closed at the end of observation.
///
/// Sends come before answers when both are ready: a late send would add to the measured
/// latency, a late answer does not (each call reads the clock itself when it ends).
pub async fn run(
    mut plan: Plan,
    config: &LoadConfig,
    observer: Observer,
    tick: &mut dyn FnMut(Tick),
    shutdown: impl Future<Output = ()>,
) -> Result<(Observed, Ending), reqwest::Error> {
    let client = reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .pool_max_idle_per_host(config.max_in_flight)
        .build()?;
    let mut r = Replay {
        config,
        client,
        features: plan.features().into(),
        clock: RealClock::new(),
        calls: JoinSet::new(),
        open: BTreeMap::new(),
        observer,
        progress: Tick::default(),
    };
    let mut next = plan.next();
    tokio::pin!(shutdown);
    let ending = loop {
        if next.is_none() && r.calls.is_empty() {
            break Ending::Complete;
        }
        let wait = next
            .as_ref()
            .map_or(std::time::Duration::MAX, |p| r.until_due(p));
        tokio::select! {
            biased;
            () = &mut shutdown => break Ending::Interrupted,
            () = tokio::time::sleep(wait), if next.is_some() => {
                if let Some(p) = next.take() {
                    r.send(p);
                }
                next = plan.next();
            }
            Some(joined) = r.calls.join_next(), if !r.calls.is_empty() => r.answered(joined),
        }
        r.progress.in_flight = r.calls.len() as u64;
        tick(r.progress);
    };
    Ok((r.close(), ending))
}

/// A real reading (since the start) in the simulated time base.
fn sim_time(scale: TimeScale, real: Time) -> Time {
    Time::ZERO.saturating_add(scale.to_emulated(Duration::from_nanos(real.as_nanos())))
}

/// Send one request and read its answer.
async fn call(
    client: reqwest::Client,
    config: LoadConfig,
    clock: RealClock,
    features: std::sync::Arc<[String]>,
    planned: Planned,
) -> Done {
    let mut request = client
        .post(config.url.clone())
        .header("content-type", "application/json")
        .body(chat_body(&planned, &config.model));
    for (name, value) in identity(&planned, &features) {
        request = request.header(name, value);
    }
    let outcome = match request.send().await {
        Ok(response) => read(response).await,
        Err(e) => Outcome::Failed(transport_reason(&e)),
    };
    Done {
        planned,
        real: clock.now(),
        outcome,
    }
}

/// Classify a response, reading at most [`MAX_BODY_BYTES`] of its body.
async fn read(mut response: reqwest::Response) -> Outcome {
    let status = response.status().as_u16();
    let rejected_by = response
        .headers()
        .get(REJECTED_BY_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                let room = MAX_BODY_BYTES.saturating_sub(body.len());
                body.extend_from_slice(&bytes[..bytes.len().min(room)]);
                if room == 0 {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => return Outcome::Failed(transport_reason(&e)),
        }
    }
    classify(status, rejected_by.as_deref(), &body)
}
