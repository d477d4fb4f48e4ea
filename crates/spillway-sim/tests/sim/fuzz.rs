//! In-process mutation fuzzer of the scenario loader: every shipped scenario, mutated (bytes
//! flipped, spans cut or repeated, hostile tokens spliced in), must parse or be refused with
//! errors, never panic (overflow checks are on in test builds). Bounded in CI (a few thousand
//! inputs); `SPILLWAY_FUZZ_INPUTS=1000000 cargo test --release -p spillway-sim --test sim fuzz`
//! is the long run. A crashing input is saved to `tests/sim/fuzz-regressions/` (check it in:
//! every file there is parsed by every run).

use crate::workspace;
use spillway_sim::scenario::parse;
use std::path::Path;

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

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(40)).min(out.len());
                out.drain(at..end);
            }
            2 => {
                let end = (at + rng.below(80)).min(out.len());
                let span = out[at..end].to_vec();
                out.splice(at..at, span);
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
        }
    }
    out
}

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
        parse_or_save(&dir, &mutate(seed, &mut rng));
    }
    assert!(seeds.len() >= 5, "the shipped scenarios are the seeds");
}
