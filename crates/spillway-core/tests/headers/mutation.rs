//! In-process mutation fuzzer of the header parsers, the sibling of the scenario loader's
//! (`spillway-sim/tests/sim/fuzz.rs`): real response header blocks of every provider format,
//! mutated (bits flipped, spans cut or repeated, hostile tokens spliced in), parsed leniently,
//! strictly and line by line for every provider: never a panic. Bounded in CI (2,000 inputs);
//! `SPILLWAY_FUZZ_INPUTS=1000000 cargo test --release -p spillway-core --test headers mutation`
//! is the long run. A crashing input is printed (escaped) in the failure message.

use spillway_core::upstream::headers::{
    Provider, UnixNanos, parse_header_lines, parse_headers, parse_headers_strict,
};
use spillway_testkit::mutate::{Reach, Rng, mutate};

/// Header blocks are short: cut up to 20 bytes, repeat up to 40.
const REACH: Reach = Reach {
    cut: 20,
    repeat: 40,
};

/// Real header blocks, one per provider format (values from provider docs and captures).
const SEEDS: &[&str] = &[
    "x-ratelimit-limit-requests: 5000\nx-ratelimit-remaining-requests: 4999\n\
     x-ratelimit-reset-requests: 2m52.8s\nx-ratelimit-reset-tokens: 6m0s\nretry-after: 56\n\
     date: Fri, 29 Sep 2023 16:26:57 GMT\n",
    "anthropic-ratelimit-requests-limit: 50\nanthropic-ratelimit-requests-remaining: 0\n\
     anthropic-ratelimit-requests-reset: 2025-08-21T12:40:59Z\n\
     anthropic-ratelimit-input-tokens-reset: 2025-08-21T12:40:59.123456789+02:00\n\
     retry-after: Fri, 29 Sep 2023 16:26:57 GMT\n",
    "x-ratelimit-remaining-requests: 99\nx-ratelimit-remaining-tokens: 1000\n\
     retry-after-ms: 120000\nx-ms-region: East US\n",
    "X-RateLimit-Limit: 100\nX-RateLimit-Remaining: 3\nX-RateLimit-Reset: 1700000000\n\
     RateLimit-Reset: 30\n",
];

/// Tokens at numeric and syntactic edges.
const TOKENS: &[&str] = &[
    "18446744073709551615",
    "-1",
    "1e308",
    "9999999999h",
    "0.000000000001s",
    "µs",
    "NaN",
    "99999-12-31T23:59:60Z",
    ":",
    "\n",
    "\r\n",
    ",",
    " ",
    "GMT",
    "Mon, ",
    "ms",
    "+99:99",
    ".",
];

fn parse_everything(text: &str) {
    let date = Some(UnixNanos::from_nanos(1_700_000_000_000_000_000));
    let lines = parse_header_lines(text).unwrap_or_default();
    let pairs: Vec<(&str, &[u8])> = lines.iter().map(|(n, v)| (n.as_str(), &v[..])).collect();
    for provider in Provider::ALL {
        let _ = parse_headers(pairs.iter().copied(), provider, date);
        let _ = parse_headers_strict(pairs.iter().copied(), provider, date);
    }
}

#[test]
fn mutated_header_blocks_never_panic_the_parsers() {
    let inputs: u64 = std::env::var("SPILLWAY_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let mut rng = Rng(0x4EAD_E125);
    for _ in 0..inputs {
        let input = mutate(
            SEEDS[rng.below(SEEDS.len())].as_bytes(),
            &mut rng,
            TOKENS,
            &REACH,
        );
        let text = String::from_utf8_lossy(&input).into_owned();
        let outcome = std::panic::catch_unwind(|| parse_everything(&text));
        assert!(outcome.is_ok(), "a header parser panicked on {text:?}");
    }
}
