//! The HTTP request for one planned arrival: an OpenAI chat completion whose prompt the
//! emulator counts as exactly the arrival's input tokens, and the identity headers.
//!
//! Why a sized prompt and not a token hint: any OpenAI-compatible endpoint (not only
//! `spillway emulate`) must see a request of the right size, and `spillway emulate` counts
//! input tokens as ⌈characters / 4⌉ (at least 1; `spillway_emulate::request`), so a prompt of
//! `4 × n` characters is exactly `n` tokens there. A test parses these bodies with the
//! emulator's own parser to keep the two in step.

use crate::plan::Planned;
use serde_json::json;

/// Characters per token in the emulator's counting rule.
pub const CHARS_PER_TOKEN: u64 = 4;

/// The identity headers (what `spillway serve` keys its limits on).
pub const USER_HEADER: &str = "x-spillway-user";
/// The team header (sent only for a group with a `team:`).
pub const TEAM_HEADER: &str = "x-spillway-team";
/// The feature header.
pub const FEATURE_HEADER: &str = "x-spillway-feature";
/// The class header.
pub const CLASS_HEADER: &str = "x-spillway-class";

/// The JSON body of `p`'s chat completion for `model`.
pub fn chat_body(p: &Planned, model: &str) -> String {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt(p.arrival.input_tokens)}],
        "max_tokens": p.arrival.output_tokens.max(1),
    })
    .to_string()
}

/// A prompt of `tokens` tokens by the emulator's rule: `4 × tokens` characters of words.
pub fn prompt(tokens: u64) -> String {
    const WORD: &str = "tok ";
    let chars = tokens.max(1).saturating_mul(CHARS_PER_TOKEN);
    let words = usize::try_from(chars / WORD.len() as u64).unwrap_or(usize::MAX);
    WORD.repeat(words)
}

/// The identity header values of `p`: user id, feature name, class name, and its team when
/// its group has one (so `scope: team` layers and caps in `serve` see the simulator's teams).
pub fn identity(p: &Planned, features: &[String]) -> Vec<(&'static str, String)> {
    let feature = features.get(p.feature).cloned().unwrap_or_default();
    let mut headers = vec![
        (USER_HEADER, format!("user-{}", p.arrival.user)),
        (FEATURE_HEADER, feature),
        (CLASS_HEADER, p.class.name().to_string()),
    ];
    if let Some(team) = &p.team {
        headers.push((TEAM_HEADER, team.to_string()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::Time;
    use spillway_sim::scenario::Class;
    use spillway_sim::traffic::Arrival;

    fn planned(team: Option<&str>) -> Planned {
        let arrival = Arrival {
            at: Time::ZERO,
            user: 7,
            group: 0,
            input_tokens: 3,
            output_tokens: 5,
            failed: false,
        };
        Planned {
            seq: 0,
            arrival,
            class: Class::Batch,
            feature: 0,
            team: team.map(Into::into),
        }
    }

    #[test]
    fn the_team_header_goes_only_with_a_team() {
        let features = ["chat".to_string()];
        let with = identity(&planned(Some("search")), &features);
        assert!(
            with.contains(&(TEAM_HEADER, "search".to_string())),
            "{with:?}"
        );
        assert!(
            with.contains(&(USER_HEADER, "user-7".to_string())),
            "{with:?}"
        );
        let without = identity(&planned(None), &features);
        assert!(
            without.iter().all(|(name, _)| *name != TEAM_HEADER),
            "{without:?}"
        );
        assert_eq!(without.len(), 3);
    }
}
