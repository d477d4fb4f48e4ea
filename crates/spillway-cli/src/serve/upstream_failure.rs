//! What an upstream call that got no answer means, and what the client is told. What decides
//! is whether the call connected: one that never did reached nothing (502, sent again or failed
//! over); one that did may be with the provider, who may bill it, so it is booked at its
//! estimate and not sent again (a timeout: 504; a broken connection: 502).

use super::proxy::Upstream;
use axum::http::StatusCode;
use axum::response::Response;
use spillway_core::policy::base_url::shown as shown_url;
use spillway_gateway::headers;

/// How long the upstream may take before the call is given up (504; the provider may still
/// bill it, so it is booked, not sent again).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A non-streaming call, from sending to the last byte of the answer.
    pub total: std::time::Duration,
    /// A streaming call: until the answer starts, and between two chunks of it (a stream may
    /// last longer than any total, but not fall silent).
    pub idle: std::time::Duration,
    /// A streaming client that takes no chunk for this long is taken as gone. Its own bound,
    /// not `idle`: an operator who shortens `idle` to catch stalled providers sooner must not
    /// cut clients that read slowly but steadily.
    pub client_stall: std::time::Duration,
}

/// The longest connect: what a client waits for a host that does not answer.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Timeouts {
    /// The client's connect timeout: [`CONNECT_TIMEOUT`], cut to half the shorter bound. A
    /// connect that hangs must fail as a connect (unreachable: sent again, not billed) before
    /// the call's own bound fires, which cannot tell it from a call on the wire and would book
    /// it as sent; with the two equal, the call's bound won (measured). Half leaves that
    /// margin even on a loaded machine, and a connect slower than half the call's budget
    /// would leave little of it for the answer.
    pub fn connect(&self) -> std::time::Duration {
        CONNECT_TIMEOUT.min(self.total.min(self.idle) / 2)
    }
}

/// Why an upstream call got no answer. What decides is whether it connected: only then may
/// the provider have it.
pub(super) enum Failed {
    /// Never connected (name, connect refused or timed out, TLS): nothing was sent, so it may
    /// be sent again (or fail over).
    Unreachable(reqwest::Error),
    /// Sent, then silent past a [`Timeouts`] bound: the provider may have the prompt, and bill
    /// it, so the call is neither sent again nor released (see `Proxy::run`).
    TimedOut,
    /// Connected, then the connection broke before an answer (a reset, a close): as
    /// [`Failed::TimedOut`], the provider may have it; a 502.
    Broken(reqwest::Error),
}

impl Failed {
    /// Whether the provider may have the call: it connected, so it is booked, not resent.
    pub(super) fn maybe_sent(&self) -> bool {
        !matches!(self, Failed::Unreachable(_))
    }
}

impl From<reqwest::Error> for Failed {
    fn from(e: reqwest::Error) -> Self {
        // A connect that failed or timed out sent nothing, nor did a request never built.
        if e.is_connect() || e.is_builder() {
            Failed::Unreachable(e)
        } else if e.is_timeout() {
            Failed::TimedOut
        } else {
            Failed::Broken(e)
        }
    }
}

impl Failed {
    /// The answer for a call that got none: 502 unreachable, 504 timed out, 502 broken.
    pub(super) fn response(self, to: &Upstream) -> Response {
        match self {
            Failed::Unreachable(e) => unreachable(to, e),
            Failed::TimedOut => timed_out(),
            Failed::Broken(e) => connection_lost(to, e),
        }
    }
}

/// 502: the upstream could not be reached. Neither the key nor any credentials in the URL
/// are part of the message (the URL is shown without them, and not repeated from the error).
fn unreachable(to: &Upstream, e: reqwest::Error) -> Response {
    let message = format!(
        "spillway serve: the upstream {} could not be reached: {}",
        shown_url(&to.base),
        error_chain(&e.without_url())
    );
    headers::error(
        StatusCode::BAD_GATEWAY,
        &message,
        "server_error",
        "upstream_unreachable",
    )
}

/// 502: the connection to the upstream broke after the request went out, before an answer.
/// Shown like [`unreachable()`]'s: no key, no credentials.
fn connection_lost(to: &Upstream, e: reqwest::Error) -> Response {
    let message = format!(
        "spillway serve: the connection to the upstream {} broke before it answered; the request \
may have reached it, so it was not sent again: {}",
        shown_url(&to.base),
        error_chain(&e.without_url())
    );
    // Final: the provider may bill this call; a client's retry would pay for it twice.
    headers::final_error(
        StatusCode::BAD_GATEWAY,
        &message,
        "server_error",
        "upstream_connection_lost",
    )
}

/// 504: the upstream was reached but did not answer within `--upstream-timeout` (or fell
/// silent for `--upstream-idle-timeout` while streaming).
pub(super) fn timed_out() -> Response {
    // Final, as a lost connection's: the provider may bill the call.
    headers::final_error(
        StatusCode::GATEWAY_TIMEOUT,
        "spillway serve: the upstream did not answer in time (--upstream-timeout, or --upstream-idle-timeout while streaming)",
        "server_error",
        "upstream_timeout",
    )
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_connect_gives_up_before_either_upstream_timeout() {
        let connect = |total, idle| {
            Timeouts {
                total,
                idle,
                client_stall: idle,
            }
            .connect()
        };
        let (ms, s) = (Duration::from_millis, Duration::from_secs);
        assert_eq!(connect(s(600), s(300)), CONNECT_TIMEOUT, "the defaults");
        assert_eq!(connect(ms(300), s(300)), ms(150));
        assert_eq!(connect(s(600), ms(200)), ms(100));
    }
}
