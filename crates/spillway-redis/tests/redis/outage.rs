//! Redis killed mid-run: the configured failure policy answers, nothing panics, and Redis answers
//! again once it is back.

use crate::server::{Server, connect, runtime};
use spillway_core::limit::{
    Algorithm, Decision, Demand, LayerSpec, LayeredDecision, LimitSpec, Scope, Subject, Unit,
};
use spillway_core::{Duration, Time};
use spillway_redis::{FailurePolicy, RedisLayered, RedisLimiter, RedisStore, ServedBy};

fn spec() -> LimitSpec {
    LimitSpec {
        algorithm: Algorithm::SlidingLog,
        limit: 10,
        window: Duration::from_secs(60),
        burst: None,
    }
}

/// A store of `server` answered by `policy` when Redis does not reply within 200 ms.
pub(crate) async fn store_with(server: &Server, policy: FailurePolicy) -> RedisStore {
    let mut config = server.config();
    config.failure_policy = policy;
    config.response_timeout = std::time::Duration::from_millis(200);
    config.connect_timeout = std::time::Duration::from_millis(200);
    connect(config).await
}

#[test]
fn each_policy_answers_while_redis_is_down_and_redis_answers_again_after() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let open = RedisLimiter::new(
            &store_with(&server, FailurePolicy::FailOpen).await,
            "o",
            spec(),
        )
        .unwrap();
        let wait = Duration::from_secs(2);
        let closed = RedisLimiter::new(
            &store_with(&server, FailurePolicy::FailClosed { retry_after: wait }).await,
            "c",
            spec(),
        )
        .unwrap();
        let local_store = store_with(&server, FailurePolicy::LocalFallback { instances: 2 }).await;
        let local = RedisLimiter::new(&local_store, "l", spec()).unwrap();
        let layered = RedisLayered::new(
            &local_store,
            "lay",
            vec![LayerSpec {
                name: "per-user".into(),
                scope: Scope::User,
                unit: Unit::Requests,
                limit: spec(),
            }],
        )
        .unwrap();
        let t = Time::from_secs(100);
        for l in [&open, &closed, &local] {
            assert_eq!(
                l.acquire("k", t, 1).await.unwrap().served_by,
                ServedBy::Redis
            );
        }

        server.kill();
        let v = open
            .acquire("k", t, 1)
            .await
            .expect("a policy answer, not an error");
        assert_eq!(
            (v.decision, v.served_by),
            (Decision::Allowed, ServedBy::FailOpen)
        );
        let v = closed.acquire("k", t, 1).await.unwrap();
        assert_eq!(
            (v.decision, v.served_by),
            (
                Decision::Denied {
                    retry_at: t.saturating_add(wait)
                },
                ServedBy::FailClosed
            )
        );
        // Local share: 10 / 2 instances = 5 per instance while Redis is away.
        let mut admitted = 0;
        for _ in 0..8 {
            let v = local.acquire("k", t, 1).await.unwrap();
            assert_eq!(v.served_by, ServedBy::LocalFallback);
            admitted += u32::from(v.decision.is_allowed());
        }
        assert_eq!(admitted, 5);
        // More than the share can ever hold: refused while Redis is away, told to retry in a
        // second as for any outage (it was told `Time::MAX`: a retry-after of 584 years).
        let v = local.acquire("k", t, 6).await.unwrap();
        assert_eq!(
            v.decision,
            Decision::Denied {
                retry_at: t.saturating_add(Duration::from_secs(1))
            }
        );
        let subject = Subject {
            user: 1,
            ..Subject::default()
        };
        let demand = Demand {
            requests: 1,
            tokens: 0,
        };
        let v = layered.acquire(t, &subject, demand).await.unwrap();
        assert_eq!(
            (v.decision, v.served_by),
            (LayeredDecision::Allowed, ServedBy::LocalFallback)
        );
        assert_eq!(
            local.commit("k", t, 1).await.unwrap(),
            ServedBy::LocalFallback
        );

        server.restart();
        let mut recovered = false;
        for _ in 0..100 {
            if local.acquire("k", t, 1).await.unwrap().served_by == ServedBy::Redis {
                recovered = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(recovered, "Redis never answered again after the restart");
        // The restarted server is empty (no persistence): layered state starts fresh there too.
        let v = layered.acquire(t, &subject, demand).await.unwrap();
        assert_eq!(
            (v.decision, v.served_by),
            (LayeredDecision::Allowed, ServedBy::Redis)
        );
    });
}

#[test]
fn a_slow_redis_is_answered_by_the_policy_after_the_response_timeout() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let mut config = server.config();
        config.failure_policy = FailurePolicy::FailOpen;
        config.response_timeout = std::time::Duration::from_millis(100);
        let limiter = RedisLimiter::new(&connect(config).await, "slow", spec()).unwrap();
        let t = Time::from_secs(5);
        assert_eq!(
            limiter.acquire("k", t, 1).await.unwrap().served_by,
            ServedBy::Redis
        );
        // Stalled until the test resumes it: the acquire's reply cannot arrive in time,
        // however late this thread runs.
        let stall = server.stall();
        let v = limiter
            .acquire("k", t, 1)
            .await
            .expect("an answer, never an error");
        assert_eq!(
            (v.decision, v.served_by),
            (Decision::Allowed, ServedBy::FailOpen),
            "the stalled acquire was not answered by the failure policy"
        );
        stall.resume();
        let mut answered = false;
        for _ in 0..50 {
            if limiter.acquire("k", t, 1).await.unwrap().served_by == ServedBy::Redis {
                answered = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(answered, "Redis never answered again after the stall");
    });
}
