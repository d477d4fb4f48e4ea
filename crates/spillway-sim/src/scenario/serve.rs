//! `serve:` — what `spillway serve` needs beyond the policy, and the simulator ignores: where
//! the upstream is, which `keys:` entry authenticates to it, and who the clients are (virtual
//! keys mapped to user / team / feature / class, or trusted `x-spillway-*` headers).
//!
//! Secrets are never in the file: virtual keys are read from `secret: {env|file}` at load and
//! kept as a hash plus their last four characters; upstream keys name a `keys:` entry, whose
//! secret the server reads when it starts.

use super::model::Class;
use super::raw::{RawScenario, S};
use serde::Deserialize;
use spillway_core::keys::{Secret, SecretHash, SecretSource, process_lookup};
use spillway_core::policy::Reporter;
use spillway_core::policy::budget::{RawSecret, secret_source};
use std::path::Path;

/// `serve:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServe {
    /// The OpenAI-compatible base URL requests are forwarded to, e.g. `https://api.openai.com`.
    pub upstream: S<String>,
    /// The `keys:` entry whose secret authenticates to `upstream` (default: none sent).
    pub upstream_key: Option<S<String>>,
    /// Where policies with `upstream: { fallback: true }` fail over to.
    pub fallback: Option<S<String>>,
    /// The `keys:` entry for `fallback`.
    pub fallback_key: Option<S<String>>,
    /// Take identity and class from `x-spillway-user`, `-feature`, `-class` (default false).
    #[serde(default)]
    pub trust_headers: bool,
    /// Keys clients present (`Authorization: Bearer …`), and who they are.
    #[serde(default)]
    pub virtual_keys: Vec<RawVirtualKey>,
}

/// One client key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVirtualKey {
    /// Shown in messages and metrics (never the secret).
    pub name: S<String>,
    /// Where the key is read from: `env: NAME` or `file: PATH`.
    pub secret: RawSecret,
    /// The user its requests count against (default: the key's name).
    pub user: Option<String>,
    /// Its team (a label).
    pub team: Option<String>,
    /// Its feature (default `default`).
    pub feature: Option<String>,
    /// Its priority class (default `standard`).
    pub class: Option<S<String>>,
}

/// The validated `serve:` block.
#[derive(Debug, Clone)]
pub struct ServeSpec {
    /// Upstream base URL (no trailing `/`).
    pub upstream: String,
    /// Where its key is read from.
    pub upstream_key: Option<SecretSource>,
    /// Fallback base URL.
    pub fallback: Option<String>,
    /// Where the fallback's key is read from.
    pub fallback_key: Option<SecretSource>,
    /// Whether `x-spillway-*` headers are believed.
    pub trust_headers: bool,
    /// Client keys.
    pub virtual_keys: Vec<VirtualKey>,
}

/// A client key and who presents it.
#[derive(Debug, Clone)]
pub struct VirtualKey {
    /// Its name.
    pub name: String,
    /// The key as hash and redaction tail.
    pub secret: Secret,
    /// User.
    pub user: String,
    /// Team, if any.
    pub team: Option<String>,
    /// Feature.
    pub feature: String,
    /// Class.
    pub class: Class,
}

impl VirtualKey {
    /// The stored hash (to index keys by).
    pub fn hash(&self) -> SecretHash {
        self.secret.hash()
    }
}

/// Validate `serve:`; `None` when absent or wrong (reported).
pub(crate) fn validate(raw: &RawScenario, r: &mut Reporter<'_>) -> Option<Option<ServeSpec>> {
    let Some(s) = &raw.serve else {
        return Some(None);
    };
    let dir = r.file().parent().map(Path::to_path_buf).unwrap_or_default();
    let upstream = base_url(&s.upstream, r);
    let fallback = s.fallback.as_ref().map(|f| base_url(f, r));
    let upstream_key = s.upstream_key.as_ref().map(|k| key_source(k, raw, &dir, r));
    let fallback_key = s.fallback_key.as_ref().map(|k| key_source(k, raw, &dir, r));
    let mut keys = Vec::new();
    let mut ok = true;
    for vk in &s.virtual_keys {
        match virtual_key(vk, &dir, r) {
            Some(k) if keys.iter().any(|o: &VirtualKey| o.hash() == k.hash()) => {
                r.bad(
                    &vk.name,
                    "two virtual keys have the same secret; each must be unique",
                );
                ok = false;
            }
            Some(k) => keys.push(k),
            None => ok = false,
        }
    }
    let spec = ServeSpec {
        upstream: upstream?,
        upstream_key: upstream_key.map_or(Some(None), |k| k.map(Some))?,
        fallback: fallback.map_or(Some(None), |f| f.map(Some))?,
        fallback_key: fallback_key.map_or(Some(None), |k| k.map(Some))?,
        trust_headers: s.trust_headers,
        virtual_keys: keys,
    };
    ok.then_some(Some(spec))
}

/// An `http://` or `https://` base URL, without a trailing `/`.
fn base_url(url: &S<String>, r: &mut Reporter<'_>) -> Option<String> {
    let text = url.value.trim_end_matches('/');
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Some(text.to_string())
        }
        _ => {
            r.bad(
                url,
                format!(
                    "`{}` is not a base URL; expected `http://HOST[:PORT][/PATH]` or `https://…` (the `/v1/...` path is appended)",
                    url.value
                ),
            );
            None
        }
    }
}

/// The secret source of the `keys:` entry named `name`.
fn key_source(
    name: &S<String>,
    raw: &RawScenario,
    dir: &Path,
    r: &mut Reporter<'_>,
) -> Option<SecretSource> {
    let Some(key) = raw.keys.iter().find(|k| k.name.value == name.value) else {
        let known: Vec<&str> = raw.keys.iter().map(|k| k.name.value.as_str()).collect();
        r.bad(
            name,
            format!(
                "no `keys:` entry is named `{}`; known: {}",
                name.value,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        );
        return None;
    };
    let Some(secret) = &key.secret else {
        r.bad(
            name,
            format!("key `{}` has no `secret:` to send upstream", name.value),
        );
        return None;
    };
    secret_source(secret, dir, &key.name, r)
}

fn virtual_key(vk: &RawVirtualKey, dir: &Path, r: &mut Reporter<'_>) -> Option<VirtualKey> {
    let source = secret_source(&vk.secret, dir, &vk.name, r)?;
    let secret = Secret::load(&source, process_lookup)
        .map_err(|e| r.bad(&vk.name, format!("virtual key `{}`: {e}", vk.name.value)))
        .ok()?;
    let class = match &vk.class {
        None => Some(Class::Standard),
        Some(c) => Class::parse(&c.value).or_else(|| {
            r.bad(
                c,
                format!("unknown class `{}`; expected `interactive`, `standard`, `batch` or `background`", c.value),
            );
            None
        }),
    }?;
    Some(VirtualKey {
        name: vk.name.value.clone(),
        secret,
        user: vk.user.clone().unwrap_or_else(|| vk.name.value.clone()),
        team: vk.team.clone(),
        feature: vk.feature.clone().unwrap_or_else(|| "default".to_string()),
        class,
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse;
    use std::path::Path;

    const BASE: &str = "duration: 1m\nprovider: { name: p, rpm: 100, tpm: 100000, latency: { base: 1s } }\n\
traffic:\n  groups:\n    - { name: g, users: 1, class: batch, arrival: { poisson: { rate: 1/min } }, \
input_tokens: { median: 10, sigma: 0 }, output_tokens: { median: 10, sigma: 0 } }\n\
policies:\n  - name: p\n";

    fn errors(serve: &str) -> String {
        match parse(Path::new("s.yaml"), &format!("{BASE}{serve}")) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_serve_block_is_optional_and_ignored_by_the_simulation() {
        let plain = parse(Path::new("s.yaml"), BASE).expect("valid");
        assert!(plain.serve.is_none());
        let with = parse(
            Path::new("s.yaml"),
            &format!("{BASE}serve:\n  upstream: http://127.0.0.1:9000/\n  trust_headers: true\n"),
        )
        .expect("valid");
        let spec = with.serve.expect("serve");
        assert_eq!(spec.upstream, "http://127.0.0.1:9000");
        assert!(spec.trust_headers && spec.virtual_keys.is_empty());
        assert_eq!(with.policies.len(), plain.policies.len());
    }

    #[test]
    fn bad_values_are_located_in_the_users_words() {
        let e = errors("serve:\n  upstream: localhost:9000\n");
        assert!(
            e.contains("s.yaml:9:13: serve.upstream: `localhost:9000` is not a base URL"),
            "{e}"
        );
        let e = errors("serve:\n  upstream: http://x\n  upstream_key: prod\n");
        assert!(
            e.contains("serve.upstream_key: no `keys:` entry is named `prod`; known: none"),
            "{e}"
        );
        let e = errors(
            "serve:\n  upstream: http://x\n  virtual_keys:\n    - { name: a, secret: { env: SPILLWAY_TEST_SURELY_UNSET_VAR } }\n",
        );
        assert!(
            e.contains("virtual key `a`") && e.contains("SPILLWAY_TEST_SURELY_UNSET_VAR"),
            "{e}"
        );
        let e = errors("serve:\n  upstream: http://x\n  colour: blue\n");
        assert!(e.contains("serve") && e.contains("colour"), "{e}");
    }
}
