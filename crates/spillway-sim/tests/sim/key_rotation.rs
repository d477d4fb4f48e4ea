//! `scenarios/key-rotation.yaml`: one key per service fails while no key is live; a second
//! key carries the traffic through the same expiry and revocation.

use crate::workspace;
use spillway_core::Duration;
use spillway_sim::scenario;
use spillway_sim::{RunOptions, run_policy};

#[test]
fn one_key_is_down_until_each_replacement_is_live_two_keys_never_are() {
    let s = scenario::load(&workspace().join("scenarios/key-rotation.yaml")).expect("valid");
    let options = RunOptions {
        seed: s.seed,
        duration: s.duration,
    };
    let run = |name: &str| {
        let p = s.policies.iter().find(|p| p.name == name).expect("policy");
        run_policy(&s, p, &options, &mut |_| {}).expect("runs")
    };
    let (one, two) = (run("one-key"), run("two-keys"));
    // Expiry at 10m, replacement at 15m; revocation at 30m, replacement at 35m.
    assert_eq!(one.key_downtime, Some(Duration::from_secs(600)));
    assert_eq!(two.key_downtime, Some(Duration::ZERO));
    let (one_t, two_t) = (one.total(), two.total());
    assert_eq!(one_t.offered, two_t.offered, "identical arrivals");
    let no_key = |m: &spillway_sim::metrics::PolicyMetrics| {
        m.budget
            .as_ref()
            .map_or(0, |b| b.no_key.iter().sum::<u64>())
    };
    // ~300 requests a minute for 10 minutes are refused for want of a key.
    assert!(
        (2_500..3_500).contains(&no_key(&one)),
        "one key: {} refused",
        no_key(&one)
    );
    assert_eq!(one_t.rejected, no_key(&one));
    assert_eq!((two_t.rejected, no_key(&two)), (0, 0));
    assert_eq!(two_t.completed, two_t.offered);
}
