//! `serve:` — what `spillway serve` needs beyond the policy, and the simulator ignores: where
//! the upstream is, which `keys:` entry authenticates to it, and who the clients are (virtual
//! keys mapped to user / team / feature / class, or trusted `x-spillway-*` headers).
//!
//! Secrets are never in the file: virtual keys are read from `secret: {env|file}` at load and
//! kept as a hash plus their last four characters; upstream keys name a `keys:` entry, whose
//! secret the server reads when it starts.
//!
//! Here in core (not in the simulator) so that a standalone policy file and a scenario carry
//! the same block with the same located errors.

use super::budget::{RawKey, RawSecret, secret_source};
use super::{Class, Reporter, S};
use crate::keys::{Secret, SecretHash, SecretSource, process_lookup};
use serde::Deserialize;
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
    /// Take identity and class from `x-spillway-user`, `-team`, `-feature`, `-class` (default
    /// false).
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
    /// Its team: what `scope: team` layers and caps key by (default: no team, which is one
    /// team shared by every caller without one).
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

/// Validate `serve:` (`keys:` are the file's, which `upstream_key` names); `None` when
/// wrong (reported), `Some(None)` when absent.
pub fn validate(
    serve: Option<&RawServe>,
    keys: &[RawKey],
    r: &mut Reporter<'_>,
) -> Option<Option<ServeSpec>> {
    let Some(s) = serve else {
        return Some(None);
    };
    let dir = r.file().parent().map(Path::to_path_buf).unwrap_or_default();
    let upstream = base_url(&s.upstream, r);
    let fallback = s.fallback.as_ref().map(|f| base_url(f, r));
    let upstream_key = s
        .upstream_key
        .as_ref()
        .map(|k| key_source(k, keys, &dir, r));
    let fallback_key = s
        .fallback_key
        .as_ref()
        .map(|k| key_source(k, keys, &dir, r));
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

/// An `http://` or `https://` base URL, without a trailing `/` and without credentials
/// ([`super::base_url::check`]).
fn base_url(url: &S<String>, r: &mut Reporter<'_>) -> Option<String> {
    super::base_url::check(&url.value)
        .map_err(|message| r.bad(url, message))
        .ok()
}

/// The secret source of the `keys:` entry named `name`.
fn key_source(
    name: &S<String>,
    keys: &[RawKey],
    dir: &Path,
    r: &mut Reporter<'_>,
) -> Option<SecretSource> {
    let Some(key) = keys.iter().find(|k| k.name.value == name.value) else {
        let known: Vec<&str> = keys.iter().map(|k| k.name.value.as_str()).collect();
        r.bad(
            name,
            format!(
                "no `keys:` entry is named `{}`; known: {}",
                name.value,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    super::closest_names(&name.value, &known)
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
