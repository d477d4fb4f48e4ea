//! How `serve` stops: the first SIGINT/SIGTERM stops accepting and drains the requests in
//! flight for at most the drain deadline; a second signal, or the deadline, ends it at once.
//!
//! Why bounded: a process manager sends SIGTERM and then, after its own grace period, SIGKILL.
//! An unbounded drain (a stalled upstream, a long stream) would be cut by SIGKILL anyway, and
//! the shared settlements queued for Redis would be lost with it; a drain that ends on time
//! leaves room to flush them. An operator pressing Ctrl-C twice means "now".

use tokio::sync::watch;

/// Counts stop signals as they arrive (a task listens for the life of the runtime).
#[derive(Clone)]
pub struct Signals(watch::Receiver<u32>);

impl Signals {
    /// Start listening for SIGINT and (on Unix) SIGTERM; call inside tokio.
    pub fn listen() -> Self {
        let (tx, rx) = watch::channel(0u32);
        tokio::spawn(async move {
            let mut term = terminate();
            loop {
                tokio::select! {
                    got = tokio::signal::ctrl_c() => {
                        // No signal handling at all: never stop on a signal rather than at once.
                        if got.is_err() {
                            std::future::pending::<()>().await;
                        }
                    }
                    () = next(&mut term) => {}
                }
                tx.send_modify(|n| *n = n.saturating_add(1));
            }
        });
        Signals(rx)
    }

    /// Resolves once `count` signals have arrived.
    async fn reached(&self, count: u32) {
        let mut rx = self.0.clone();
        // An error means the listener is gone (the runtime is ending): nothing more will come.
        if rx.wait_for(|n| *n >= count).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// The first signal: stop accepting, drain.
    pub async fn first(&self) {
        self.reached(1).await;
    }

    /// A second signal: stop now.
    pub async fn second(&self) {
        self.reached(2).await;
    }

    /// After the first signal, `drain` has passed or a second signal came, whichever is first.
    pub async fn drain_over(&self, drain: std::time::Duration) {
        self.first().await;
        tokio::select! {
            () = tokio::time::sleep(drain) => {}
            () = self.second() => {}
        }
    }
}

#[cfg(unix)]
type Terminate = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Terminate = Option<()>;

/// SIGTERM (what a process manager sends), where there is one.
fn terminate() -> Terminate {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate()).ok()
    }
    #[cfg(not(unix))]
    None
}

/// The next SIGTERM (never, without one).
async fn next(term: &mut Terminate) {
    #[cfg(unix)]
    if let Some(t) = term
        && t.recv().await.is_some()
    {
        return;
    }
    let _ = term;
    std::future::pending::<()>().await;
}
