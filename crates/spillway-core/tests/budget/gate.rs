//! `Budget::preflight` end to end: allow → degrade → cheapest → queue until the reset, the
//! deciding cap named each time; reject on rejecting caps and on estimates that never fit.

use spillway_core::Time;
use spillway_core::budget::{
    Budget, CapId, DegradationLadder, Estimator, LadderStep, Ledger, ModelCatalogue, ModelId,
    ModelSpec, OnExhausted, OutputEstimate, StepAction, Verdict,
};
use spillway_core::limit::{Scope, Subject};

use crate::{DAY_NS, daily_cap};

const BEST: ModelId = ModelId(0);
const MID: ModelId = ModelId(1);
const CHEAP: ModelId = ModelId(2);
/// $1 per user per day.
const USER_DAILY: u64 = 1_000_000_000;

fn budget(user_on_exhausted: OnExhausted) -> Budget {
    let m = |name: &str, tier, per_mtok: u64| ModelSpec {
        name: name.into(),
        tier,
        input_nano_usd_per_mtok: per_mtok,
        output_nano_usd_per_mtok: per_mtok,
        max_output_tokens: 1000,
    };
    // Per token: best 1000 nano-USD, mid 100, cheap 10.
    let cat = ModelCatalogue::new(vec![
        m("best", 3, 1_000_000_000),
        m("mid", 2, 100_000_000),
        m("cheap", 1, 10_000_000),
    ])
    .expect("valid");
    let step = |at, action| LadderStep {
        at_per_mille: at,
        action,
    };
    let ladder = DegradationLadder::new(
        vec![
            step(800, StepAction::Use(MID)),
            step(950, StepAction::Use(CHEAP)),
            step(1000, StepAction::Exhausted),
        ],
        &cat,
    )
    .expect("valid");
    let ledger = Ledger::new(
        vec![
            daily_cap(
                "global",
                Scope::Global,
                100 * USER_DAILY,
                OnExhausted::Reject,
            ),
            daily_cap("per-user daily", Scope::User, USER_DAILY, user_on_exhausted),
        ],
        0,
    )
    .expect("valid");
    Budget::new(
        cat,
        Estimator::new(OutputEstimate::Fixed(100), 3),
        ladder,
        ledger,
    )
}

const ALICE: Subject = Subject {
    team: 0,
    user: 1,
    feature: 5,
    api_key: 0,
};

/// Spend `nano_usd` for Alice on the cheap model (exact: 10 nano-USD per token).
fn spend(b: &mut Budget, nano_usd: u64) {
    let a = b.admit(Time::ZERO, &ALICE, CHEAP, 0);
    let t = a.ticket.expect("admitted");
    b.complete(Time::ZERO, t, nano_usd / 10, 0);
}

#[test]
fn allow_degrade_cheapest_then_queue_until_midnight() {
    let mut b = budget(OnExhausted::Queue);
    let p = b.preflight(Time::ZERO, &ALICE, BEST, 100);
    assert_eq!(p.verdict, Verdict::Allow);
    assert_eq!(p.decided_by, None);
    assert_eq!(p.estimate.map(|e| e.cost_nano_usd), Some(200 * 1000));
    spend(&mut b, 800_000_000);
    let p = b.preflight(Time::ZERO, &ALICE, BEST, 100);
    assert_eq!(p.verdict, Verdict::Degrade(MID));
    assert_eq!(p.decided_by, Some(CapId(1)));
    assert_eq!(p.tightest.map(|u| u.per_mille), Some(800));
    spend(&mut b, 150_000_000);
    assert_eq!(
        b.preflight(Time::ZERO, &ALICE, BEST, 100).verdict,
        Verdict::Degrade(CHEAP)
    );
    assert_eq!(
        b.preflight(Time::ZERO, &ALICE, CHEAP, 100).verdict,
        Verdict::Allow,
        "already cheapest"
    );
    spend(&mut b, 50_000_000);
    let p = b.preflight(Time::ZERO, &ALICE, BEST, 100);
    assert_eq!(p.verdict, Verdict::QueueUntil(Time::from_nanos(DAY_NS)));
    assert_eq!(p.decided_by, Some(CapId(1)));
    let bob = Subject { user: 2, ..ALICE };
    assert_eq!(
        b.preflight(Time::ZERO, &bob, BEST, 100).verdict,
        Verdict::Allow,
        "Bob has his own cap"
    );
    assert_eq!(
        b.preflight(Time::from_nanos(DAY_NS), &ALICE, BEST, 100)
            .verdict,
        Verdict::Allow,
        "a new day"
    );
}

#[test]
fn a_request_too_dear_for_the_rest_of_the_budget_is_degraded_not_refused() {
    let mut b = budget(OnExhausted::Reject);
    spend(&mut b, 500_000_000);
    // 50 % used: the ladder allows the best model, but 600k tokens on it cost $0.70.
    let p = b.preflight(Time::ZERO, &ALICE, BEST, 599_900);
    assert_eq!(p.verdict, Verdict::Degrade(MID), "mid costs $0.06: fits");
    assert_eq!(p.decided_by, Some(CapId(1)));
    let admitted = b.admit(Time::ZERO, &ALICE, BEST, 599_900);
    let ticket = admitted.ticket.expect("reserved");
    assert!(ticket.degraded());
    let s = b.complete(Time::ZERO, ticket, 599_900, 50);
    assert_eq!((s.requested, s.model), (BEST, MID));
    assert_eq!(s.actual_nano_usd, 599_950 * 100);
    assert_eq!(
        s.estimate_nano_usd - s.actual_nano_usd,
        50 * 100,
        "estimated 100 output tokens, used 50"
    );
    let errors = b.estimator.errors(5).expect("feature 5 recorded");
    assert_eq!(
        errors.tokens.max(),
        100,
        "the spend() calls used 0 output tokens vs 100 estimated"
    );
}

#[test]
fn rejecting_caps_and_never_fitting_estimates_reject() {
    let mut b = budget(OnExhausted::Reject);
    spend(&mut b, USER_DAILY);
    let p = b.preflight(Time::ZERO, &ALICE, BEST, 1);
    assert_eq!((p.verdict, p.decided_by), (Verdict::Reject, Some(CapId(1))));
    let mut q = budget(OnExhausted::Queue);
    // 200M tokens on the cheapest model cost $2 > the whole $1 daily cap: queueing is futile.
    let p = q.preflight(Time::ZERO, &ALICE, BEST, 200_000_000);
    assert_eq!((p.verdict, p.decided_by), (Verdict::Reject, Some(CapId(1))));
    assert!(
        q.admit(Time::ZERO, &ALICE, BEST, 200_000_000)
            .ticket
            .is_none()
    );
    assert_eq!(
        q.preflight(Time::ZERO, &ALICE, ModelId(9), 1).verdict,
        Verdict::Reject,
        "unknown model"
    );
    spend(&mut q, USER_DAILY);
    assert!(matches!(
        q.preflight(Time::ZERO, &ALICE, BEST, 1).verdict,
        Verdict::QueueUntil(_)
    ));
    let p = q.preflight(Time::ZERO, &ALICE, BEST, 200_000_000);
    assert_eq!(
        p.verdict,
        Verdict::Reject,
        "spent, and too big for any day: no point queueing"
    );
}

#[test]
fn cancel_releases_the_reservation() {
    let mut b = budget(OnExhausted::Queue);
    let t = b.admit(Time::ZERO, &ALICE, BEST, 500).ticket.expect("fits");
    assert_eq!(
        b.ledger
            .account(Time::ZERO, CapId(1), 1)
            .map(|a| a.reserved_nano_usd),
        Some(600_000)
    );
    b.cancel(Time::ZERO, t);
    assert_eq!(
        b.ledger
            .account(Time::ZERO, CapId(1), 1)
            .map(|a| a.committed_nano_usd()),
        Some(0)
    );
}

#[test]
fn a_price_change_applies_to_the_next_estimate_and_settlement() {
    let mut b = budget(OnExhausted::Queue);
    let t = b
        .admit(Time::ZERO, &ALICE, CHEAP, 1000)
        .ticket
        .expect("fits");
    b.catalogue
        .set_prices(CHEAP, 20_000_000, 20_000_000)
        .expect("known");
    let s = b.complete(Time::ZERO, t, 1000, 100);
    assert_eq!(s.estimate_nano_usd, 11_000);
    assert_eq!(
        s.actual_nano_usd, 22_000,
        "billed at the price in force at completion"
    );
    assert!(b.ladder.validate(&b.catalogue).is_ok());
}

#[test]
fn as_spend_grows_the_model_only_gets_cheaper() {
    let mut b = budget(OnExhausted::Queue);
    let mut last = BEST;
    for _ in 0..200 {
        let p = b.preflight(Time::ZERO, &ALICE, BEST, 50);
        let model = match p.verdict {
            Verdict::Allow => BEST,
            Verdict::Degrade(m) => m,
            Verdict::QueueUntil(_) | Verdict::Reject => break,
        };
        assert!(
            !b.catalogue.is_dearer(model, last),
            "{model:?} after {last:?}"
        );
        last = model;
        spend(&mut b, 7_000_000);
    }
    assert_eq!(last, CHEAP);
}
