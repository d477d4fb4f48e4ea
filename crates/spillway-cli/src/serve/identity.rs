//! Who is calling: a virtual key (`Authorization: Bearer …`) mapped to user / team / feature /
//! class in `serve:`, or the `x-spillway-*` headers when the policy file trusts them.
//!
//! Names become the limiter's 64-bit subjects through FNV-1a: stable across replicas and
//! restarts (a Redis-shared limit must see the same user as the same key everywhere). A caller
//! without a team is in team 0, as every simulated user without `team:` is: one team, so a
//! `scope: team` layer then limits them together.

use axum::http::{HeaderMap, HeaderValue};
use spillway_core::keys::SecretHash;
use spillway_core::policy::Class;
use spillway_core::policy::serve::ServeSpec;
use std::collections::HashMap;

/// The caller as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// User subject.
    pub user: u64,
    /// Team subject (0: no team).
    pub team: u64,
    /// Feature subject.
    pub feature: u64,
    /// Priority class index.
    pub class: usize,
}

/// Why a caller is refused before the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unknown {
    /// Keys are configured and none matched (401).
    Key,
    /// A trusted header has a value that is not allowed (400).
    Header(String),
}

/// The identity rules of one `serve:` block.
pub struct Identities {
    keys: HashMap<SecretHash, Caller>,
    trust_headers: bool,
}

/// The team of a caller that names none.
const NO_TEAM: u64 = 0;

/// FNV-1a, 64 bits: a stable subject id for a name, from its bytes (a name in a header that
/// is not ASCII, `josé`, is its UTF-8 bytes there as in the file, or any other bytes: still
/// a name of its own).
pub fn subject_id(name: impl AsRef<[u8]>) -> u64 {
    name.as_ref().iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The token of an `Authorization` value in the `Bearer` scheme, matched whatever its case
/// (RFC 7235: auth schemes are case-insensitive, and clients do send `bearer`).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("Bearer")
        .then_some(token.trim())
}

impl Identities {
    /// The rules of `spec` (none: everyone is the anonymous standard caller); `trust_headers`
    /// believes the `x-spillway-*` headers whatever `spec` says.
    pub fn new(spec: Option<&ServeSpec>, trust_headers: bool) -> Self {
        let keys = spec
            .map(|s| {
                s.virtual_keys
                    .iter()
                    .map(|k| {
                        let caller = Caller {
                            user: subject_id(&k.user),
                            team: k.team.as_deref().map_or(NO_TEAM, subject_id),
                            feature: subject_id(&k.feature),
                            class: k.class.index(),
                        };
                        (k.hash(), caller)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Identities {
            keys,
            trust_headers: trust_headers || spec.is_some_and(|s| s.trust_headers),
        }
    }

    /// The caller of a request with `headers`.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, Unknown> {
        let mut caller = Caller {
            user: subject_id("anonymous"),
            team: NO_TEAM,
            feature: subject_id("default"),
            class: Class::Standard.index(),
        };
        if !self.keys.is_empty() {
            let presented = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(bearer_token)
                .map(SecretHash::of);
            match presented.and_then(|h| self.keys.get(&h)) {
                // The key's mapping wins over any header: a holder who could name another
                // user, team, feature or class per request would escape every limit and cap
                // scoped to them (and pick its own priority).
                Some(known) => return Ok(*known),
                None if !self.trust_headers => return Err(Unknown::Key),
                None => {}
            }
        }
        if self.trust_headers {
            Self::apply_headers(headers, &mut caller)?;
        }
        Ok(caller)
    }

    /// The trusted headers' names, by their raw bytes: a value that is not ASCII (`josé`, sent
    /// as is by `load` and by clients) names its own subject, never silently the default one.
    fn apply_headers(headers: &HeaderMap, caller: &mut Caller) -> Result<(), Unknown> {
        let raw = |name: &str| headers.get(name).map(HeaderValue::as_bytes);
        if let Some(user) = raw("x-spillway-user") {
            caller.user = subject_id(user);
        }
        if let Some(team) = raw("x-spillway-team") {
            // An empty team is no team (team 0), as a key without `team:` is.
            caller.team = if team.is_empty() {
                NO_TEAM
            } else {
                subject_id(team)
            };
        }
        if let Some(feature) = raw("x-spillway-feature") {
            caller.feature = subject_id(feature);
        }
        if let Some(class) = raw("x-spillway-class") {
            let class = String::from_utf8_lossy(class);
            caller.class = Class::parse(&class).map(Class::index).ok_or_else(|| {
                Unknown::Header(format!(
                    "x-spillway-class `{class}` is not a class; expected interactive, standard, batch or background"
                ))
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_headers_name_the_caller_and_bad_classes_are_refused() {
        let ids = Identities {
            keys: HashMap::new(),
            trust_headers: true,
        };
        let mut h = HeaderMap::new();
        let anonymous = ids.caller(&h).unwrap();
        assert_eq!(anonymous.team, NO_TEAM);
        h.insert("x-spillway-user", "alice".parse().unwrap());
        h.insert("x-spillway-team", "search".parse().unwrap());
        h.insert("x-spillway-class", "batch".parse().unwrap());
        let c = ids.caller(&h).unwrap();
        assert_eq!(
            (c.user, c.team, c.class),
            (subject_id("alice"), subject_id("search"), 2)
        );
        h.insert("x-spillway-class", "urgent".parse().unwrap());
        assert!(matches!(ids.caller(&h), Err(Unknown::Header(_))));
        h.remove("x-spillway-class");
        h.insert("x-spillway-team", "".parse().unwrap());
        assert_eq!(ids.caller(&h).unwrap().team, NO_TEAM);
    }

    const BOB: Caller = Caller {
        user: 7,
        team: 9,
        feature: 8,
        class: 1,
    };

    /// One key, `sk-bob-1234`, for [`BOB`].
    fn bob_only(trust_headers: bool) -> Identities {
        Identities {
            keys: HashMap::from([(SecretHash::of("sk-bob-1234"), BOB)]),
            trust_headers,
        }
    }

    #[test]
    fn a_known_key_names_its_owner_even_when_headers_are_trusted() {
        let (bob, ids) = (BOB, bob_only(true));
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("x-spillway-user", "mallory"),
            ("x-spillway-team", "other"),
            ("x-spillway-feature", "free"),
            ("x-spillway-class", "interactive"),
        ] {
            h.insert(name, value.parse().unwrap());
        }
        // Without a key, trusted headers name the caller.
        let anonymous = ids.caller(&h).unwrap();
        assert_eq!(
            (anonymous.user, anonymous.team),
            (subject_id("mallory"), subject_id("other"))
        );
        h.insert("authorization", "Bearer sk-bob-1234".parse().unwrap());
        assert_eq!(ids.caller(&h), Ok(bob));
    }

    #[test]
    fn with_keys_an_unknown_key_is_refused_and_a_known_one_names_its_owner() {
        let (bob, ids) = (BOB, bob_only(false));
        let mut h = HeaderMap::new();
        assert_eq!(ids.caller(&h), Err(Unknown::Key));
        h.insert("authorization", "Bearer sk-bob-1234".parse().unwrap());
        assert_eq!(ids.caller(&h), Ok(bob));
        // Headers are ignored unless trusted.
        h.insert("x-spillway-user", "mallory".parse().unwrap());
        assert_eq!(ids.caller(&h), Ok(bob));
    }

    #[test]
    fn the_bearer_scheme_is_matched_whatever_its_case() {
        let ids = bob_only(false);
        for (value, expected) in [
            ("Bearer sk-bob-1234", Ok(BOB)),
            ("bearer sk-bob-1234", Ok(BOB)),
            ("BEARER sk-bob-1234", Ok(BOB)),
            ("bEaReR   sk-bob-1234", Ok(BOB)),
            ("Basic sk-bob-1234", Err(Unknown::Key)),
            ("Bearersk-bob-1234", Err(Unknown::Key)),
            ("sk-bob-1234", Err(Unknown::Key)),
            ("Bear", Err(Unknown::Key)),
        ] {
            let mut h = HeaderMap::new();
            h.insert("authorization", value.parse().unwrap());
            assert_eq!(ids.caller(&h), expected, "{value}");
        }
    }

    #[test]
    fn non_ascii_header_values_are_callers_of_their_own_not_anonymous() {
        let ids = Identities {
            keys: HashMap::new(),
            trust_headers: true,
        };
        let anonymous = ids.caller(&HeaderMap::new()).unwrap();
        let named = |name: &'static str, value: &[u8]| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_bytes(value).unwrap());
            ids.caller(&h)
        };
        let jose = named("x-spillway-user", "josé".as_bytes()).unwrap();
        let zoe = named("x-spillway-user", "zoë".as_bytes()).unwrap();
        // The same subject as the name's UTF-8 bytes, as a scenario's `josé` is identified.
        assert_eq!(jose.user, subject_id("josé"));
        assert_eq!(zoe.user, subject_id("zoë"));
        assert_ne!(jose.user, anonymous.user);
        // Bytes that are not UTF-8 (Latin-1 `é`) are still a user of their own.
        let latin1 = named("x-spillway-user", b"jos\xe9").unwrap();
        assert!(![anonymous.user, jose.user].contains(&latin1.user));
        let team = named("x-spillway-team", "équipe".as_bytes()).unwrap();
        assert_eq!(team.team, subject_id("équipe"));
        let feature = named("x-spillway-feature", "café".as_bytes()).unwrap();
        assert_eq!(feature.feature, subject_id("café"));
        // A class is one of four words: anything else is refused, naming the header.
        let class = named("x-spillway-class", "bätch".as_bytes());
        assert!(
            matches!(&class, Err(Unknown::Header(m)) if m.contains("x-spillway-class")),
            "{class:?}"
        );
    }

    #[test]
    fn subject_ids_are_stable() {
        assert_eq!(subject_id(""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(subject_id("a"), subject_id("b"));
    }
}
