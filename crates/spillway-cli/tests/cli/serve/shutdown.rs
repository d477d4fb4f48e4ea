//! SIGTERM while a call is stuck upstream: `serve` stops within `--drain-timeout`, or at once
//! on a second signal, instead of waiting for SIGKILL.

use super::fixtures::{
    PER_USER_100, Server, Stalled, chat, metric, metrics_until, policy_file, post_chat,
};

/// Sends one chat call to `serve` (whose upstream is stalled) and waits until it is on the
/// wire, stuck.
async fn stick_a_call(serve: &Server) {
    let url = serve.url.clone();
    tokio::spawn(async move {
        let _ = reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .body(chat(3, false))
            .send()
            .await;
    });
    let client = reqwest::Client::new();
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_in_flight") == Some(1)
    })
    .await;
    assert_eq!(metric(&m, "spillway_in_flight"), Some(1), "{m}");
}

/// `serve` with one call stuck on a stalled upstream (no upstream timeout to end it soon).
async fn serve_with_a_stuck_call(name: &str, drain: &str) -> (Server, Stalled) {
    let stalled = Stalled::start(b"");
    let policy = policy_file(name, PER_USER_100, "", "");
    let serve = Server::serve_with(&policy, &stalled.url, &["--drain-timeout", drain]);
    stick_a_call(&serve).await;
    (serve, stalled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_serve_after_the_drain_deadline_though_a_call_is_stuck() {
    let (mut serve, _stalled) = serve_with_a_stuck_call("drain-deadline", "200ms").await;
    serve.signal("-TERM");
    let status = serve
        .exit_status()
        .expect("serve exited after its drain deadline");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_stops_serve_at_once() {
    let (mut serve, _stalled) = serve_with_a_stuck_call("second-signal", "1h").await;
    serve.signal("-TERM");
    // Draining (it stopped accepting; the stuck call holds it for up to an hour): only now is
    // a second signal a second one, not merged with the first.
    let addr = serve.url.trim_start_matches("http://").to_string();
    let mut polls = 0;
    while std::net::TcpStream::connect(&addr).is_ok() {
        polls += 1;
        assert!(polls < 400, "serve kept accepting after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(serve.running(), "serve exited before its drain deadline");
    serve.signal("-TERM");
    let status = serve
        .exit_status()
        .expect("serve exited on the second signal");
    assert!(status.success(), "{status:?}");
}

/// What the shared budget in `redis` has booked, in nano-USD: the sum of its spend keys.
fn booked_in(redis: &super::fixtures::Redis) -> u64 {
    let port = redis.url.rsplit(':').next().expect("a port");
    let cli = |args: &[&str]| {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", port])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    cli(&["--scan", "--pattern", "*budget|*|s|*"])
        .lines()
        .map(|key| cli(&["GET", key]).trim().parse::<u64>().unwrap_or(0))
        .sum()
}

/// A call cut by the drain deadline was sent: the provider may bill it, so the shared budget
/// books it (at its estimate) before `serve` exits. (Before: it was cancelled only as the
/// runtime went away, after the settle queue had closed, and its settlement was lost.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cut_at_the_drain_deadline_is_booked_in_the_shared_budget() {
    let Some(redis) = super::fixtures::Redis::start() else {
        return;
    };
    let stalled = Stalled::start(b"");
    let models = super::super::workspace().join("scenarios/models.yaml");
    let policy = policy_file(
        "drain-booked",
        &PER_USER_100.replace("fixed-window", "sliding-window"),
        "    budget:\n      model: gpt-4o-mini\n      ladder: none\n      estimate: fixed\n      \
caps:\n        - { name: roomy, scope: global, period: day, limit_usd: 100 }\n",
        &format!("models: {}\n", models.display()),
    );
    let mut serve = Server::serve_with(
        &policy,
        &stalled.url,
        &["--drain-timeout", "200ms", "--redis", &redis.url],
    );
    stick_a_call(&serve).await;
    serve.signal("-TERM");
    let status = serve.exit_status().expect("serve exited");
    assert!(status.success(), "{status:?}");
    // 256 estimated output tokens of gpt-4o-mini at $0.60/M (the prompt adds a little).
    let booked = booked_in(&redis);
    assert!((153_600..200_000).contains(&booked), "booked {booked}");
}

/// Cancellations of acquires whose reply was lost are flushed at shutdown too (their
/// background task ends with the runtime): with Redis still gone they cannot be, and `serve`
/// says so. (Before: shutdown never looked at them, and nothing was said.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellations_still_queued_at_shutdown_are_flushed_or_reported_lost() {
    let Some(mut redis) = super::fixtures::Redis::start() else {
        return;
    };
    let policy = policy_file(
        "cancel-at-shutdown",
        &PER_USER_100.replace("fixed-window", "sliding-window"),
        "",
        "",
    );
    let stub = Server::stub(&policy);
    let serve = Server::serve_with_keeping_stderr(
        &policy,
        &stub.url,
        &["--redis", &redis.url, "--redis-failure", "open"],
    );
    let client = reqwest::Client::new();
    let status = |resp: reqwest::Response| resp.status().as_u16();
    assert_eq!(status(post_chat(&client, &serve.url, false).await), 200);
    redis.stop();
    // Admitted by the failure policy; its acquire's reply lost, its cancellation queued.
    assert_eq!(status(post_chat(&client, &serve.url, false).await), 200);
    let err = serve.terminate_for_stderr();
    assert!(
        err.contains("cancellations still queued for Redis were lost at shutdown"),
        "{err}"
    );
}
