//! Teams in the simulator: groups that name one `team:` share a `scope: team` layer; groups
//! without a team are one team.

use spillway_sim::{RunOptions, run_policy, scenario};
use std::path::Path;

/// Three groups of two busy users each; `teams` gives each group's `team:` (or none).
fn scenario_text(teams: [Option<&str>; 3]) -> String {
    let group = |name: &str, class: &str, team: Option<&str>| {
        let team = team.map(|t| format!(", team: {t}")).unwrap_or_default();
        format!(
            "    - {{ name: {name}, users: 2, class: {class}{team}, arrival: {{ poisson: {{ rate: 60/min }} }}, \
input_tokens: {{ median: 10, sigma: 0 }}, output_tokens: {{ median: 10, sigma: 0 }} }}\n"
        )
    };
    format!(
        "duration: 2m\n\
provider:\n  name: stub\n  rpm: 1000000\n  tpm: 1000000000\n  concurrency: 1000\n  \
latency: {{ base: 5ms, per_output_token: 1ms }}\n\
traffic:\n  groups:\n{}{}{}\
layers:\n  - {{ name: per-team, scope: team, algorithm: fixed-window, limit: 10, per: 1h }}\n\
policies:\n  - {{ name: p, layers: [per-team] }}\n",
        group("search-a", "interactive", teams[0]),
        group("search-b", "standard", teams[1]),
        group("ads", "batch", teams[2]),
    )
}

/// Requests admitted per class (= per group here).
fn admitted(teams: [Option<&str>; 3]) -> [u64; 3] {
    let s = scenario::parse(Path::new("teams.yaml"), &scenario_text(teams)).expect("valid");
    let options = RunOptions {
        seed: 1,
        duration: s.duration,
    };
    let m = run_policy(&s, &s.policies[0], &options, &mut |_| {}).expect("runs");
    assert!(
        m.total().offered > 100,
        "the teams ask for far more than 10"
    );
    [0, 1, 2].map(|c| m.classes[c].admitted)
}

#[test]
fn groups_of_one_team_share_its_limit_and_other_teams_have_their_own() {
    let [a, b, ads] = admitted([Some("search"), Some("search"), Some("ads")]);
    assert_eq!((a + b, ads), (10, 10));
    assert!(a > 0 && b > 0, "both search groups got some: {a} {b}");
    // Without `team:` every group is one team: ten requests between all of them.
    let none = admitted([None, None, None]);
    assert_eq!(none.iter().sum::<u64>(), 10, "{none:?}");
    // A named team is not the unnamed one.
    let [x, y, z] = admitted([None, None, Some("ads")]);
    assert_eq!((x + y, z), (10, 10));
}
