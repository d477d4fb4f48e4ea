//! Bad input gets typed errors with clear messages, never a panic, and never a password.

use crate::server::{Server, connect, runtime};
use spillway_core::limit::{
    Algorithm, Decision, Demand, LayerSpec, LayeredError, LimitError, LimitSpec, Scope, Subject,
    Unit,
};
use spillway_core::{Duration, Time};
use spillway_redis::{
    KeyError, RedisConfig, RedisLayered, RedisLimitError, RedisLimiter, RedisStore,
};

fn spec() -> LimitSpec {
    LimitSpec {
        algorithm: Algorithm::TokenBucket,
        limit: 5,
        window: Duration::from_secs(1),
        burst: None,
    }
}

fn quick(url: String) -> RedisConfig {
    let mut c = RedisConfig::new(url);
    c.connect_timeout = std::time::Duration::from_millis(300);
    c
}

#[test]
fn unreachable_and_malformed_urls_are_typed_errors() {
    let rt = runtime();
    rt.block_on(async {
        // A port nothing listens on: bind one, then release it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = RedisStore::connect(quick(format!("redis://user:topsecret@127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, RedisLimitError::Unreachable { .. }),
            "{err:?}"
        );
        let shown = err.to_string();
        assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
        assert!(!shown.contains("topsecret"), "{shown}");
        let err = RedisStore::connect(quick("http://example.invalid".into()))
            .await
            .unwrap_err();
        assert!(matches!(err, RedisLimitError::InvalidUrl { .. }), "{err:?}");
    });
}

/// A `dedupe_ttl` the scripts cannot keep exact (2^53 ms and more make a mark's `until` inexact,
/// 2^56 ms wrap the log meta's field) is refused before connecting, naming the field.
#[test]
fn an_absurd_dedupe_ttl_is_refused_before_connecting() {
    let rt = runtime();
    rt.block_on(async {
        for ttl_ms in [0, 1 << 53, 1 << 56] {
            // Nothing listens there: the refusal must come first.
            let mut config = quick("redis://127.0.0.1:1/".into());
            config.dedupe_ttl = std::time::Duration::from_millis(ttl_ms);
            let err = RedisStore::connect(config).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    RedisLimitError::InvalidConfig {
                        field: "dedupe_ttl",
                        ..
                    }
                ),
                "{ttl_ms} ms: {err:?}"
            );
        }
    });
}

#[test]
fn a_wrong_or_missing_password_is_an_auth_error_without_the_password() {
    let Some(server) = Server::start(&["--requirepass", "right-horse-battery"]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let mut config = quick(server.url());
        config.password = Some("wrong-staple-guess".into());
        let err = RedisStore::connect(config.clone()).await.unwrap_err();
        assert!(matches!(err, RedisLimitError::Auth { .. }), "{err:?}");
        for shown in [err.to_string(), format!("{err:?}"), config.to_string()] {
            assert!(!shown.contains("wrong-staple-guess"), "{shown}");
        }
        let err = RedisStore::connect(quick(server.url())).await.unwrap_err();
        assert!(
            matches!(err, RedisLimitError::Auth { .. }),
            "no password: {err:?}"
        );
        config.password = Some("right-horse-battery".into());
        let store = RedisStore::connect(config)
            .await
            .expect("the right password connects");
        let l = RedisLimiter::new(&store, "auth", spec()).unwrap();
        assert!(
            l.acquire("k", Time::from_secs(1), 1)
                .await
                .unwrap()
                .decision
                .is_allowed()
        );
    });
}

/// An acquire of key "k" at `now` fails with a script error whose message says each of `why`.
async fn refused(l: &RedisLimiter, now: Time, why: &[&str]) {
    let err = l.acquire("k", now, 1).await.unwrap_err();
    assert!(matches!(err, RedisLimitError::Script { .. }), "{err:?}");
    for part in why {
        assert!(err.to_string().contains(part), "{err}");
    }
}

#[test]
fn a_script_error_is_reported_not_hidden_by_the_failure_policy() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        let l = RedisLimiter::new(&store, "typed", spec()).unwrap();
        // A list where the bucket's string state should be: the script's GET fails.
        let _: () = redis::cmd("RPUSH")
            .arg("spillway:typed:{k}")
            .arg("x")
            .query(&mut server.admin())
            .unwrap();
        refused(&l, Time::from_secs(1), &["WRONGTYPE"]).await;
    });
}

/// A sliding log written by an earlier state format is refused with a script error naming the
/// key, not misread as a different log: a sorted set (format 3's 39-byte members or, as here,
/// older decimal members), or format 4's list of 46-byte entries (no format byte, no request
/// ids).
#[test]
fn a_log_in_an_older_state_format_is_refused_not_misread() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    // '%011d%09d%d': instant 1 s, cost 3, as format 2 wrote it.
    let mut zset = redis::cmd("ZADD");
    zset.arg("spillway:old:{k}")
        .arg(0)
        .arg("000000000010000000003");
    // Format 4: instant 1 s, cost 1, meta: total 1, one entry, oldest 1 s, no expiry horizon.
    let mut entry = Vec::new();
    for (value, width) in [
        (1u64, 5),
        (0, 4),
        (1, 7),
        (1, 7),
        (1, 7),
        (1, 5),
        (0, 4),
        (0, 7),
    ] {
        entry.extend_from_slice(&value.to_be_bytes()[8 - width..]);
    }
    assert_eq!(entry.len(), 46);
    let mut list = redis::cmd("RPUSH");
    list.arg("spillway:four:{k}").arg(entry);
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        for (name, plant) in [("old", zset), ("four", list)] {
            let log = LimitSpec {
                algorithm: Algorithm::SlidingLog,
                ..spec()
            };
            let l = RedisLimiter::new(&store, name, log).unwrap();
            let _: () = plant.query(&mut server.admin()).unwrap();
            let key = format!("spillway:{name}:{{k}}");
            refused(&l, Time::from_secs(2), &["another state format", &key]).await;
            // A fresh key of the same limiter works.
            assert!(l.acquire("k2", Time::from_secs(2), 1).await.is_ok());
        }
    });
}

/// A string of another length under a token bucket's (or a counter's) name, here the value
/// of some other program, is refused with a script error naming the key, not read as a TAT.
#[test]
fn a_value_of_another_length_is_refused_not_misread() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        for algorithm in [Algorithm::TokenBucket, Algorithm::SlidingCounter] {
            let name = format!("len{algorithm:?}");
            let spec = LimitSpec {
                algorithm,
                ..spec()
            };
            let l = RedisLimiter::new(&store, &name, spec).unwrap();
            let key = format!("spillway:{name}:{{k}}");
            let _: () = redis::cmd("SET")
                .arg(&key)
                .arg("sixteen byte str")
                .query(&mut server.admin())
                .unwrap();
            refused(&l, Time::from_secs(2), &["another state format", &key]).await;
        }
    });
}

#[test]
fn bad_keys_names_and_costs_are_typed_errors() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        let l = RedisLimiter::new(&store, "keys", spec()).unwrap();
        for bad in ["a{b", "a}b", "a:b", ""] {
            let err = l.acquire(bad, Time::ZERO, 1).await.unwrap_err();
            assert!(matches!(err, RedisLimitError::Key(_)), "{bad:?}: {err:?}");
        }
        assert!(matches!(
            RedisLimiter::new(&store, "bad:name", spec()),
            Err(RedisLimitError::Key(KeyError::Reserved { ch: ':', .. }))
        ));
        assert_eq!(
            l.acquire("k", Time::ZERO, 6).await.unwrap_err(),
            RedisLimitError::Limit(LimitError::CostExceedsCapacity {
                cost: 6,
                capacity: 5
            })
        );
        let layer = LayerSpec {
            name: "per{user}".into(),
            scope: Scope::User,
            unit: Unit::Tokens,
            limit: spec(),
        };
        assert!(matches!(
            RedisLayered::new(&store, "lay", vec![layer.clone()]),
            Err(RedisLimitError::Key(_))
        ));
        let ok = RedisLayered::new(
            &store,
            "lay",
            vec![LayerSpec {
                name: "per-user".into(),
                ..layer
            }],
        )
        .unwrap();
        let err = ok
            .acquire(
                Time::ZERO,
                &Subject::default(),
                Demand {
                    requests: 1,
                    tokens: 9,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            err,
            RedisLimitError::Layered(LayeredError::NeverFits {
                layer: "per-user".into(),
                cost: 9,
                capacity: 5
            })
        );
        assert!(err.to_string().contains("per-user"));
    });
}

#[test]
fn redis_time_gives_unix_epoch_instants() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let mut config = server.config();
        config.time_source = spillway_redis::TimeSource::Redis;
        let store = connect(config).await;
        let l = RedisLimiter::new(
            &store,
            "clock",
            LimitSpec {
                algorithm: Algorithm::SlidingCounter,
                ..spec()
            },
        )
        .unwrap();
        // The caller's `now` (zero) is ignored: the verdict carries Redis' instant.
        let v = l.acquire("k", Time::ZERO, 5).await.unwrap();
        assert!(v.decision.is_allowed());
        assert!(v.now > Time::from_secs(1_600_000_000), "{:?}", v.now);
        let denied = l.acquire("k", Time::ZERO, 1).await.unwrap();
        match denied.decision {
            spillway_core::limit::Decision::Denied { retry_at } => assert!(retry_at > denied.now),
            other => panic!("expected a denial, got {other:?}"),
        }
    });
}

/// A token bucket written before the expiry's horizon was kept (three doubles, 24 bytes) is
/// read as the same TAT, not refused: builds of either layout can share keys.
#[test]
fn a_token_bucket_without_the_expiry_horizon_is_read_as_before() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        let l = RedisLimiter::new(&store, "tat24", spec()).unwrap();
        // TAT = 10 s (five tokens of 200 ms from 9 s): full at 9 s, one token back at 9.2 s.
        let old: Vec<u8> = [10.0f64, 0.0, 0.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let _: () = redis::cmd("SET")
            .arg("spillway:tat24:{k}")
            .arg(old)
            .arg("PX")
            .arg(60_000)
            .query(&mut server.admin())
            .unwrap();
        let denied = l
            .acquire("k", Time::from_nanos(9_100_000_000), 1)
            .await
            .unwrap();
        assert_eq!(
            denied.decision,
            Decision::Denied {
                retry_at: Time::from_nanos(9_200_000_000)
            }
        );
        let v = l
            .acquire("k", Time::from_nanos(9_200_000_000), 1)
            .await
            .unwrap();
        assert!(v.decision.is_allowed());
        let value: Vec<u8> = redis::cmd("GET")
            .arg("spillway:tat24:{k}")
            .query(&mut server.admin())
            .unwrap();
        assert_eq!(value.len(), 32, "rewritten with the horizon");
    });
}
