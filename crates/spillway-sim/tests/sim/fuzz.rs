//! In-process mutation fuzzer of the scenario loader: every shipped scenario, mutated (bytes
//! flipped, spans cut or repeated, hostile tokens spliced in), must parse or be refused with
//! errors, never panic (overflow checks are on in test builds). Bounded in CI (a few thousand
//! inputs); `SPILLWAY_FUZZ_INPUTS=1000000 cargo test --release -p spillway-sim --test sim fuzz`
//! is the long run. A crashing input is saved to `tests/sim/fuzz-regressions/` (check it in:
//! every file there is parsed by every run).

use crate::workspace;
use spillway_sim::scenario::parse;
use spillway_testkit::mutate::{Reach, Rng, mutate};
use std::path::Path;

/// Scenario files are long: cut up to 40 bytes, repeat up to 80.
const REACH: Reach = Reach {
    cut: 40,
    repeat: 80,
};

/// Tokens that broke parsers before, or sit at numeric edges.
const TOKENS: &[&str] = &[
    "1e12/s",
    "1e308",
    "-1",
    "0",
    "18446744073709551615",
    "1ns",
    "99999999999999d",
    "NaN",
    "1000000000000000000:00",
    ":",
    "\n",
    "[",
    "{",
    "}",
    "- ",
    "~",
    "'",
    "\"",
    "0.0000001/s",
    "inf",
    "1e-300",
    "&a",
    "*a",
    "!!binary",
    "  ",
    "#",
];

fn parse_or_save(dir: &Path, input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let result = std::panic::catch_unwind(|| {
        let _ = parse(&dir.join("fuzz.yaml"), &text);
    });
    if result.is_err() {
        let regressions = workspace().join("crates/spillway-sim/tests/sim/fuzz-regressions");
        let name = format!("crash-{:016x}.yaml", fxhash(input));
        let _ = std::fs::write(regressions.join(&name), input);
        panic!("the scenario loader panicked; input saved as fuzz-regressions/{name}");
    }
}

fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn mutated_scenarios_never_panic_the_loader() {
    let dir = workspace().join("scenarios");
    let mut seeds = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("scenarios/").flatten() {
        if entry.path().extension().is_some_and(|e| e == "yaml") {
            seeds.push(std::fs::read(entry.path()).expect("seed"));
        }
    }
    let regressions = workspace().join("crates/spillway-sim/tests/sim/fuzz-regressions");
    for entry in std::fs::read_dir(&regressions)
        .expect("fuzz-regressions/")
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "yaml") {
            parse_or_save(&dir, &std::fs::read(entry.path()).expect("regression"));
        }
    }
    let inputs: u64 = std::env::var("SPILLWAY_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let mut rng = Rng(0x5EED_F022);
    for _ in 0..inputs {
        let seed = &seeds[rng.below(seeds.len())];
        parse_or_save(&dir, &mutate(seed, &mut rng, TOKENS, &REACH));
    }
    assert!(seeds.len() >= 5, "the shipped scenarios are the seeds");
}
