//! The budget gate on its own: reservations, degradation, holds within the horizon, keys,
//! price changes.

use super::parts::{KEY_EXPIRES_S, gate, gate_with_keys, test_key};
use spillway_core::budget::CapId;
use spillway_core::engine::{RequestMeta, Spend, SpendGate, SpendRefusal, SpendStep};
use spillway_core::keys::{KeyId, KeyRole};
use spillway_core::{Duration, Time};

fn at(secs: u64) -> Time {
    Time::ZERO.saturating_add(Duration::from_secs(secs))
}

fn request(input_tokens: u64) -> RequestMeta<u64> {
    RequestMeta {
        user: 1,
        team: 0,
        feature: 0,
        class: 0,
        input_tokens,
        output_estimate: 10,
        max_tokens: 10,
        payload: 0,
    }
}

/// Ask the gate at `now` with the key it selects.
fn ask(g: &mut SpendGate, now: Time, input_tokens: u64) -> SpendStep {
    let r = request(input_tokens);
    let key = g.key(now, &r);
    g.decide(now, &r, key)
}

fn reserved(g: &SpendGate) -> u64 {
    g.budget().ledger.reserved_nano_usd()
}

#[test]
fn an_admission_reserves_until_it_is_booked_or_cancelled() {
    let mut g = gate(1_000, false, None);
    let SpendStep::Admit(Some(first)) = ask(&mut g, at(0), 290) else {
        panic!("the first request fits");
    };
    // 290 input + 10 estimated output on the dear model, a nano-USD a token, held on both
    // caps (the hourly one and the key's).
    assert_eq!(reserved(&g), 2 * 300);
    assert!(!first.degraded());
    let SpendStep::Admit(Some(second)) = ask(&mut g, at(0), 290) else {
        panic!("the second request fits");
    };
    assert!(
        !second.degraded(),
        "30 % reserved is below the ladder's 50 %"
    );
    // 60 % reserved: the ladder routes to the cheap model (half the price).
    let SpendStep::Admit(Some(third)) = ask(&mut g, at(0), 290) else {
        panic!("the third request fits");
    };
    assert!(third.degraded());
    assert_eq!(reserved(&g), 2 * (300 + 300 + 150));
    Spend::<u64>::cancel(&mut g, at(1), third);
    Spend::<u64>::cancel(&mut g, at(1), second);
    assert_eq!(reserved(&g), 2 * 300);
    let books = Spend::<u64>::complete(&mut g, at(1), first, 100, 20).expect("billed");
    assert_eq!(books.actual_nano_usd, 120);
    assert_eq!(reserved(&g), 0);
}

#[test]
fn a_price_change_applies_from_its_time() {
    let mut g = gate(1_000_000, false, None);
    let SpendStep::Admit(Some(before)) = ask(&mut g, at(0), 100) else {
        panic!("fits");
    };
    let SpendStep::Admit(Some(after)) = ask(&mut g, at(0), 100) else {
        panic!("fits");
    };
    let early = Spend::<u64>::complete(&mut g, at(29), before, 100, 0).expect("billed");
    let late = Spend::<u64>::complete(&mut g, at(30), after, 100, 0).expect("billed");
    assert_eq!((early.actual_nano_usd, late.actual_nano_usd), (100, 200));
}

#[test]
fn a_spent_cap_holds_until_its_reset_unless_that_is_past_the_horizon() {
    for (horizon, expected) in [(None, Some(at(60))), (Some(at(59)), None)] {
        let mut g = gate(100, true, horizon);
        let SpendStep::Admit(Some(_held)) = ask(&mut g, at(0), 90) else {
            panic!("the first request fits");
        };
        match (ask(&mut g, at(1), 90), expected) {
            (SpendStep::Hold(until), Some(reset)) => assert_eq!(until, reset),
            (SpendStep::Refuse(SpendRefusal::Cap { cap, reset_at }), None) => {
                assert_eq!(
                    (cap, reset_at),
                    (Some(CapId(0)), Some(at(60))),
                    "names the cap"
                );
            }
            (other, _) => panic!("horizon {horizon:?}: {other:?}"),
        }
    }
}

#[test]
fn without_a_usable_key_a_request_is_refused() {
    let mut g = gate(1_000, false, None);
    assert!(g.select_key(at(KEY_EXPIRES_S - 1), &request(10)).is_some());
    assert_eq!(g.select_key(at(KEY_EXPIRES_S), &request(10)), None);
    assert!(matches!(
        ask(&mut g, at(KEY_EXPIRES_S), 10),
        SpendStep::Refuse(SpendRefusal::NoKey)
    ));
    let unknown = KeyId::derive("production", "chat", "leaked-elsewhere");
    assert_eq!(g.pinned_key(at(0), unknown), None);
    let known = KeyId::derive("production", "chat", "primary");
    assert_eq!(g.pinned_key(at(0), known), Some(known.0));
    assert_eq!(reserved(&g), 0);
}

#[test]
fn shared_totals_decide_and_an_admission_needs_the_store_to_hold_its_estimate() {
    use spillway_core::budget::Account;
    use spillway_core::engine::SharedTotals;
    let mut g = gate(1_000, true, None);
    let r = request(290);
    let key = g.key(at(0), &r).expect("a usable key");
    let accounts = g.shared_accounts(&r, key);
    assert_eq!(accounts.len(), 2, "the hourly cap and the key's daily one");
    let totals = |spent: u64, held: u64| SharedTotals {
        accounts: accounts
            .iter()
            .map(|a| {
                let account = Account {
                    spent_nano_usd: if a.cap == CapId(0) { spent } else { 0 },
                    reserved_nano_usd: 0,
                };
                (*a, account)
            })
            .collect(),
        held_nano_usd: held,
    };
    assert_eq!(g.preview_shared(at(0), &r, key, &totals(0, 0)), Some(300));
    // The store could not hold the estimate: refused, naming the cap, nothing reserved.
    let refused = g.decide_shared(at(0), &r, Some(key), &totals(0, 0));
    assert!(
        matches!(
            refused,
            SpendStep::Refuse(SpendRefusal::Cap {
                cap: Some(CapId(0)),
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(reserved(&g), 0);
    let SpendStep::Admit(Some(ticket)) = g.decide_shared(at(0), &r, Some(key), &totals(0, 300))
    else {
        panic!("held: admitted");
    };
    assert!(!ticket.degraded());
    Spend::<u64>::cancel(&mut g, at(0), ticket);
    // Other replicas spent 60 % of the hourly cap: the ladder degrades, on the fleet's numbers.
    assert_eq!(g.preview_shared(at(0), &r, key, &totals(600, 0)), Some(150));
    let SpendStep::Admit(Some(cheap)) = g.decide_shared(at(0), &r, Some(key), &totals(600, 300))
    else {
        panic!("degraded");
    };
    assert!(cheap.degraded());
    Spend::<u64>::cancel(&mut g, at(0), cheap);
    // Spent by the others: a queueing cap is a refusal naming its reset, not a hold.
    assert_eq!(g.preview_shared(at(0), &r, key, &totals(1_000, 0)), None);
    let spent = g.decide_shared(at(0), &r, Some(key), &totals(1_000, 0));
    assert_eq!(
        spent,
        SpendStep::Refuse(SpendRefusal::Cap {
            cap: Some(CapId(0)),
            reset_at: Some(at(60))
        })
    );
}

/// A gate with a primary key whose daily budget is 200 nano-USD and a secondary with 400 (and
/// an ample hourly cap), and the two keys' ids.
fn two_keys() -> (SpendGate, u64, u64) {
    let validity = (Time::ZERO, KEY_EXPIRES_S);
    let keys = vec![
        test_key("primary", KeyRole::Primary, validity, 200),
        test_key("secondary", KeyRole::Secondary, validity, 400),
    ];
    let id = |name| KeyId::derive("production", "chat", name).0;
    let g = gate_with_keys(1_000_000, false, None, keys);
    (g, id("primary"), id("secondary"))
}

/// A key whose own budget is spent is passed over for a usable key whose budget has room, in
/// the ring's order of preference; when every usable key's budget is spent the choice is the
/// ring's as before (the budget then refuses, naming the key's cap).
#[test]
fn a_key_whose_budget_is_spent_gives_way_to_one_with_room() {
    let (mut g, primary, secondary) = two_keys();
    assert_eq!(
        g.select_key(at(0), &request(90)),
        Some(primary),
        "the primary is preferred"
    );
    // Spend the primary's budget (an actual above the estimate is booked in full).
    let SpendStep::Admit(Some(first)) = ask(&mut g, at(0), 90) else {
        panic!("the first request fits the primary's budget");
    };
    let _ = Spend::<u64>::complete(&mut g, at(1), first, 500, 0).expect("billed");
    assert_eq!(
        g.select_key(at(1), &request(90)),
        Some(secondary),
        "the primary's budget is spent; the secondary's has room"
    );
    let SpendStep::Admit(Some(second)) = ask(&mut g, at(1), 90) else {
        panic!("the secondary carries the request");
    };
    let _ = Spend::<u64>::complete(&mut g, at(2), second, 900, 0).expect("billed");
    assert_eq!(
        g.select_key(at(2), &request(90)),
        Some(primary),
        "no budget has room: the ring's choice, as before"
    );
}

/// A key whose budget is nearly spent has no room for a request its cap would refuse even on
/// the cheapest model: it gives way as a spent key does. The primary has 20 of 200 left; a
/// request costs 100 on the dear model, 50 on the cheap one. Fails without the fix: the
/// primary (180 < 200) was picked and its cap refused the request, the secondary idle.
#[test]
fn a_key_without_room_for_the_request_gives_way_to_one_with_room() {
    let (mut g, primary, secondary) = two_keys();
    let SpendStep::Admit(Some(first)) = ask(&mut g, at(0), 90) else {
        panic!("the first request fits the primary's budget");
    };
    let _ = Spend::<u64>::complete(&mut g, at(1), first, 180, 0).expect("billed");
    // 20 left: a request of 30 tokens (15 on the cheap model) still fits; one of 100 does not.
    assert_eq!(g.select_key(at(1), &request(20)), Some(primary));
    assert_eq!(g.select_key(at(1), &request(90)), Some(secondary));
    let SpendStep::Admit(Some(second)) = ask(&mut g, at(1), 90) else {
        panic!("the secondary carries the request the primary has no room for");
    };
    assert_eq!(second.subject().api_key, secondary);
}
