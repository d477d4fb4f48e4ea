//! KeyRing: loading, validation, rotation with overlap, expiry, revocation, per-key budgets
//! through the ledger, and redaction that never shows more than four characters.

use proptest::prelude::*;
use spillway_core::Time;
use spillway_core::budget::{Ledger, Period};
use spillway_core::keys::{
    KeyBudget, KeyError, KeyId, KeyPolicy, KeyRing, KeyRole, KeySpec, KeyStatus, Problem,
    SecretError, SecretSource, Severity, has_errors, redact,
};
use spillway_core::limit::Subject;

use crate::{DAY_NS, config};

fn day(d: u64) -> Time {
    Time::from_nanos(d * DAY_NS)
}

/// Secrets by env var name: `<NAME>` → `sk-<name>-0123456789<NAME>`.
fn lookup(source: &SecretSource) -> Result<String, SecretError> {
    match source {
        SecretSource::Env(n) if n.starts_with("MISSING") => Err(SecretError::EnvNotSet(n.clone())),
        SecretSource::Env(n) => Ok(format!("sk-{}-0123456789{n}\n", n.to_lowercase())),
        SecretSource::File(p) => Err(SecretError::Unreadable {
            path: p.clone(),
            reason: "test".into(),
        }),
    }
}

fn key(name: &str, role: KeyRole, from: u64, to: u64) -> KeySpec {
    KeySpec {
        name: name.into(),
        environment: "production".into(),
        service: "chat".into(),
        role,
        source: SecretSource::Env(name.to_uppercase()),
        not_before: day(from),
        expires_at: day(to),
        budget: None,
    }
}

/// The seed's setup: a primary and a $20/day secondary, both 90 days, overlapping.
fn seed_ring() -> KeyRing {
    let mut secondary = key("secondary", KeyRole::Secondary, 0, 90);
    secondary.budget = Some(KeyBudget {
        period: Period::Day,
        limit_nano_usd: 20_000_000_000,
    });
    KeyRing::load(
        vec![key("primary", KeyRole::Primary, 0, 90), secondary],
        KeyPolicy::default(),
        lookup,
    )
    .expect("loads")
}

fn id(name: &str) -> KeyId {
    KeyId::derive("production", "chat", name)
}

#[test]
fn the_seed_setup_validates_cleanly() {
    let ring = seed_ring();
    assert_eq!(ring.validate(day(1)), vec![]);
    let late = ring.validate(day(70));
    assert_eq!(
        late.len(),
        2,
        "both keys drain on day 83 with no successor configured: {late:?}"
    );
    assert!(late.iter().all(
        |f| f.severity == Severity::Warning && matches!(f.problem, Problem::NoSuccessor { .. })
    ));
    assert_eq!(
        ring.select(day(1), "production", "chat"),
        Some(id("primary"))
    );
    assert_eq!(ring.select(day(1), "staging", "chat"), None);
}

#[test]
fn one_production_key_is_an_error_unless_configured_as_a_warning() {
    let one = vec![key("only", KeyRole::Primary, 0, 30)];
    let ring = KeyRing::load(one.clone(), KeyPolicy::default(), lookup).expect("loads");
    let findings = ring.validate(day(1));
    assert!(has_errors(&findings));
    assert!(matches!(
        &findings[0].problem,
        Problem::TooFewKeys {
            usable: 1,
            needed: 2,
            ..
        }
    ));
    let lenient = KeyPolicy {
        too_few_keys: Severity::Warning,
        ..KeyPolicy::default()
    };
    let ring = KeyRing::load(one, lenient, lookup).expect("loads");
    let findings = ring.validate(day(1));
    assert!(!has_errors(&findings), "{findings:?}");
    assert!(
        findings
            .iter()
            .any(|f| matches!(f.problem, Problem::TooFewKeys { .. }))
    );
    let mut staging = key("only", KeyRole::Primary, 0, 30);
    staging.environment = "staging".into();
    let ring = KeyRing::load(vec![staging], KeyPolicy::default(), lookup).expect("loads");
    assert!(
        !has_errors(&ring.validate(day(1))),
        "the minimum applies to production only"
    );
}

#[test]
fn a_key_valid_for_more_than_90_days_is_flagged() {
    let ring = KeyRing::load(
        vec![
            key("a", KeyRole::Primary, 0, 91),
            key("b", KeyRole::Secondary, 0, 90),
        ],
        KeyPolicy::default(),
        lookup,
    )
    .expect("loads");
    let findings = ring.validate(day(0));
    let long: Vec<_> = findings
        .iter()
        .filter(|f| matches!(f.problem, Problem::LifetimeTooLong { .. }))
        .collect();
    assert_eq!(long.len(), 1);
    assert_eq!(
        (long[0].key, long[0].severity),
        (Some(id("a")), Severity::Error)
    );
    let text = long[0].problem.to_string();
    assert!(
        text.contains("91 days") && text.contains("at most 90"),
        "{text}"
    );
    assert!(
        !text.contains("0123456789"),
        "no secret in messages: {text}"
    );
}

#[test]
fn rotation_overlap_moves_traffic_to_the_secondary_then_to_the_new_primary() {
    let mut ring = KeyRing::load(
        vec![
            key("primary", KeyRole::Primary, 0, 60),
            key("secondary", KeyRole::Secondary, 30, 120),
        ],
        KeyPolicy::default(),
        lookup,
    )
    .expect("loads");
    let chat = |r: &KeyRing, t| r.select(t, "production", "chat");
    assert_eq!(chat(&ring, day(40)), Some(id("primary")));
    // Overlap is 7 days: from day 53 the primary drains and the secondary carries traffic.
    assert_eq!(
        ring.status(day(53), id("primary")),
        Some(KeyStatus::Draining)
    );
    assert_eq!(chat(&ring, day(53)), Some(id("secondary")));
    let schedule = ring.rotation_schedule(day(40));
    assert_eq!(schedule[0].key, id("primary"));
    assert_eq!(
        (schedule[0].drain_from, schedule[0].successor),
        (day(53), Some(id("secondary")))
    );
    // The new primary arrives on day 56 and takes over; the old one expires on day 60.
    ring.add(key("primary-2", KeyRole::Primary, 56, 146), lookup)
        .expect("new key");
    assert_eq!(chat(&ring, day(55)), Some(id("secondary")));
    assert_eq!(chat(&ring, day(56)), Some(id("primary-2")));
    assert_eq!(
        ring.status(day(60), id("primary")),
        Some(KeyStatus::Expired)
    );
    // An explicit rotation drains a key early.
    ring.begin_rotation(day(70), id("primary-2"))
        .expect("known");
    assert_eq!(chat(&ring, day(70)), Some(id("secondary")));
    assert_eq!(chat(&ring, day(69)), Some(id("primary-2")));
}

#[test]
fn a_draining_key_still_serves_when_nothing_else_can_and_expired_keys_never_do() {
    let ring = KeyRing::load(
        vec![
            key("a", KeyRole::Primary, 0, 30),
            key("b", KeyRole::Secondary, 0, 28),
        ],
        KeyPolicy::default(),
        lookup,
    )
    .expect("loads");
    // Both drain by day 23; the one expiring last serves.
    assert_eq!(ring.select(day(25), "production", "chat"), Some(id("a")));
    assert_eq!(ring.select(day(29), "production", "chat"), Some(id("a")));
    assert_eq!(ring.select(day(30), "production", "chat"), None);
    assert!(
        ring.validate(day(1)).is_empty(),
        "day 23 is beyond the 14-day horizon"
    );
    let findings = ring.validate(day(10));
    assert!(
        findings
            .iter()
            .any(|f| f.key == Some(id("a")) && matches!(f.problem, Problem::NoSuccessor { .. }))
    );
    assert!(
        findings
            .iter()
            .all(|f| !matches!(f.problem, Problem::NoSuccessor { .. })
                || f.severity == Severity::Warning)
    );
}

#[test]
fn revocation_takes_effect_at_its_instant_and_identify_finds_a_leaked_key() {
    let mut ring = seed_ring();
    let leaked = "sk-primary-0123456789PRIMARY";
    assert_eq!(ring.identify(leaked), Some(id("primary")));
    assert_eq!(ring.identify("sk-primary-0123456789PRIMARZ"), None);
    ring.revoke(day(10), id("primary")).expect("known");
    assert_eq!(
        ring.select(day(9), "production", "chat"),
        Some(id("primary"))
    );
    assert_eq!(
        ring.select(day(10), "production", "chat"),
        Some(id("secondary"))
    );
    assert_eq!(
        ring.status(day(10), id("primary")),
        Some(KeyStatus::Revoked)
    );
    assert_eq!(ring.revoke(day(10), KeyId(1)), Err(KeyError::UnknownKey(1)));
    let findings = ring.validate(day(11));
    assert!(
        has_errors(&findings),
        "one usable production key left: {findings:?}"
    );
}

#[test]
fn per_key_budget_is_enforced_by_the_ledger() {
    let ring = seed_ring();
    let caps = ring.budget_caps();
    assert_eq!(caps.len(), 1);
    assert_eq!(caps[0].name, "key:production/chat/secondary");
    assert_eq!(ring.budget_cap(id("secondary")).as_ref(), Some(&caps[0]));
    assert_eq!(ring.budget_cap(id("primary")), None, "no budget configured");
    let mut ledger = Ledger::new(caps, 0).expect("valid");
    let secondary = Subject {
        team: 0,
        user: 0,
        feature: 0,
        api_key: id("secondary").0,
    };
    let primary = Subject {
        api_key: id("primary").0,
        ..secondary
    };
    let r = ledger
        .reserve(day(1), &secondary, 20_000_000_000)
        .expect("exactly $20");
    ledger.settle(day(1), r, 20_000_000_000);
    assert!(
        ledger.reserve(day(1), &secondary, 1).is_err(),
        "$20/day spent"
    );
    assert!(
        ledger.reserve(day(1), &primary, 1_000_000_000_000).is_ok(),
        "primary is uncapped"
    );
    assert!(
        ledger.reserve(day(2), &secondary, 1).is_ok(),
        "next UTC day"
    );
}

#[test]
fn load_reports_every_bad_key_without_leaking_secrets() {
    let mut file = key("filed", KeyRole::Primary, 0, 10);
    file.source = SecretSource::File("/run/secrets/openai".into());
    let mut twin = key("twin", KeyRole::Primary, 0, 10);
    twin.source = SecretSource::Env("A".into());
    let errors = KeyRing::load(
        vec![
            key("a", KeyRole::Primary, 0, 10),
            twin,
            key("missing", KeyRole::Primary, 0, 10),
            key("a", KeyRole::Secondary, 0, 10),
            key("empty-window", KeyRole::Primary, 5, 5),
            file,
        ],
        KeyPolicy::default(),
        lookup,
    )
    .expect_err("bad keys");
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(
        matches!(&errors[0], KeyError::DuplicateSecret(a, b) if a.ends_with("/a") && b.ends_with("/twin"))
    );
    assert!(
        matches!(&errors[1], KeyError::Secret { source: SecretError::EnvNotSet(n), .. } if n == "MISSING")
    );
    assert!(matches!(&errors[2], KeyError::DuplicateName(_)));
    assert!(matches!(&errors[3], KeyError::EmptyValidity(_)));
    for e in &errors {
        assert!(!e.to_string().contains("0123456789"), "{e}");
    }
}

#[test]
fn labels_and_debug_show_only_the_last_four() {
    let ring = seed_ring();
    let k = ring.get(id("secondary")).expect("loaded");
    assert_eq!(k.label(), "production/chat/secondary …DARY");
    let debug = format!("{k:?}");
    assert!(!debug.contains("0123456789"), "{debug}");
    assert!(debug.contains("…DARY"));
}

proptest! {
    #![proptest_config(config("keys"))]

    /// Redaction shows at most 4 characters, all from the end of the secret, and none of a
    /// short one.
    #[test]
    fn redaction_never_leaks_more_than_four_characters(secret in ".{0,40}") {
        let shown = redact(&secret).to_string();
        let tail = shown.strip_prefix('…').expect("starts with an ellipsis");
        prop_assert!(tail.chars().count() <= 4);
        prop_assert!(secret.ends_with(tail));
        if secret.chars().count() < 12 {
            prop_assert_eq!(tail, "");
        }
    }
}
