//! Provider profile libraries: `provider: { profile: NAME }` resolved in `providers.yaml`
//! beside the scenario (or `library: FILE`, relative to the scenario). Errors inside the
//! library are reported against the library file, with its own lines and field paths.

use super::super::raw::S;
use super::parts::{self, at};
use super::validate::{inline, kind_fields};
use super::{RawLibrary, RawProvider};
use crate::provider::ProviderSpec;
use spillway_core::policy::{
    FileKind, LocatedError as ScenarioError, LocatedErrors as ScenarioErrors, Reporter,
    closest_names, kind_of,
};
use std::collections::BTreeMap;
use std::path::Path;

/// The library a scenario uses when it does not name one.
pub const DEFAULT_LIBRARY: &str = "providers.yaml";

/// Read and validate every profile of a library file, by name.
pub fn load_library(path: &Path) -> Result<BTreeMap<String, ProviderSpec>, ScenarioErrors> {
    let text =
        spillway_core::input_file::read_text(path, spillway_core::input_file::MAX_TEXT_BYTES)
            .map_err(|e| unreadable(path, &e))?;
    let mut r = Reporter::new(path, &text);
    let Some(raw) = r.parse_yaml::<RawLibrary>(None) else {
        return Err(r.into_errors());
    };
    let mut out = BTreeMap::new();
    for (i, p) in raw.profiles.iter().enumerate() {
        if let Some(spec) = inline(p, &mut r, &format!("profiles[{i}]")) {
            out.insert(spec.name.clone(), spec);
        }
    }
    check_unique(&raw, &mut r);
    r.finish().map(|()| out)
}

/// A scenario's `provider: { profile: … }`: the profile, plus the scenario's own outages,
/// shared quota and wall clock.
pub(crate) fn resolve_profile(
    p: &RawProvider,
    profile: &S<String>,
    r: &mut Reporter<'_>,
) -> Option<ProviderSpec> {
    let ok = reject_profile_fields(p, r);
    let dir = r.file().parent().map(Path::to_path_buf).unwrap_or_default();
    let file = p
        .library
        .as_ref()
        .map_or(DEFAULT_LIBRARY, |l| l.value.as_str());
    let outages = parts::outages(r, &p.outages);
    let shared = parts::shared(r, &p.shared_quota);
    let start = p
        .wall_clock_start
        .as_ref()
        .map(|w| parts::wall_clock(r, Some(w)));
    let anchor = p.library.as_ref().unwrap_or(profile);
    let mut spec = find(&dir.join(file), profile, anchor, r)?;
    if let Some(name) = &p.name {
        spec.name = name.value.clone();
    }
    spec.outages = outages?;
    spec.shared_quota = shared?;
    if let Some(start) = start {
        spec.wall_clock_start = start?;
    }
    ok.then_some(spec)
}

/// The profile named `profile` in the library at `path`, validated; problems inside the
/// library are reported against it, a missing file or profile against the scenario (`r`).
fn find(
    path: &Path,
    profile: &S<String>,
    anchor: &S<String>,
    r: &mut Reporter<'_>,
) -> Option<ProviderSpec> {
    let text = match spillway_core::input_file::read_text(
        path,
        spillway_core::input_file::MAX_TEXT_BYTES,
    ) {
        Ok(text) => text,
        Err(e) => {
            // Without `library:`, the default lives beside the scenario: a scenario copied
            // out of `scenarios/` loses it, so say how to point at one.
            let hint = if std::ptr::eq(anchor, profile) {
                "; a profile is looked up in `providers.yaml` beside the scenario: add `library: PATH` (relative to the scenario) next to `profile:`, e.g. the project's `scenarios/providers.yaml`"
            } else {
                ""
            };
            let message = format!(
                "cannot read the profile library `{}`: {e}{hint}",
                path.display()
            );
            at(r, anchor, message);
            return None;
        }
    };
    // A file that is not a library (`library: /etc/shadow`, a key file) would have its lines
    // quoted back by the YAML errors: name what was expected instead.
    if kind_of(&text) != FileKind::ProviderLibrary {
        let message = format!(
            "`{}` is not a profile library: expected a YAML file with a top-level `profiles:` \
             list, like scenarios/providers.yaml (its content is not shown)",
            path.display()
        );
        at(r, anchor, message);
        return None;
    }
    let mut lib = Reporter::new(path, &text);
    let found = lib.parse_yaml::<RawLibrary>(None).and_then(|raw| {
        check_unique(&raw, &mut lib);
        match raw
            .profiles
            .iter()
            .position(|q| profile_name(q) == Some(profile.value.as_str()))
        {
            Some(i) => inline(&raw.profiles[i], &mut lib, &format!("profiles[{i}]")),
            None => {
                let names: Vec<&str> = raw.profiles.iter().filter_map(profile_name).collect();
                let (name, file, list) = (
                    &profile.value,
                    path.display(),
                    closest_names(&profile.value, &names),
                );
                at(
                    r,
                    profile,
                    format!("no profile `{name}` in {file}; profiles are: {list}"),
                );
                None
            }
        }
    });
    r.extend(lib.into_errors());
    found
}

fn check_unique(raw: &RawLibrary, r: &mut Reporter<'_>) {
    let mut seen = BTreeMap::new();
    for name in raw.profiles.iter().filter_map(|p| p.name.as_ref()) {
        if seen.insert(name.value.as_str(), ()).is_some() {
            at(
                r,
                name,
                format!(
                    "profile name `{}` is used twice; names must be unique",
                    name.value
                ),
            );
        }
    }
}

/// With `profile:`, the provider's own fields come from the library; only scenario facts may
/// be added. Returns false (after reporting) if any provider field is given.
fn reject_profile_fields(p: &RawProvider, r: &mut Reporter<'_>) -> bool {
    const WHY: &str = "cannot be combined with `profile` (the profile defines it); next to `profile` only `name`, `library`, `outages`, `shared_quota` and `wall_clock_start` are allowed — or write the provider inline with `kind:`";
    let mut ok = true;
    let mut spanned = kind_fields(p).to_vec();
    spanned.push(("kind", p.kind.as_ref().map(loc)));
    spanned.push(("concurrency", p.concurrency.as_ref().map(loc)));
    spanned.push(("error_latency", p.error_latency.as_ref().map(loc)));
    for (name, at_loc) in spanned {
        if let Some((line, column)) = at_loc {
            r.at(line, column, format!("`{name}` {WHY}"));
            ok = false;
        }
    }
    let unspanned = [
        ("latency", p.latency.is_some()),
        ("overload", p.overload.is_some()),
        ("price", p.price.is_some()),
        ("seen", p.seen.is_some()),
        ("source", p.source.is_some()),
    ];
    for (name, present) in unspanned {
        if present {
            r.whole(&format!("provider.{name}"), format!("`{name}` {WHY}"));
            ok = false;
        }
    }
    ok
}

fn unreadable(path: &Path, e: &std::io::Error) -> ScenarioErrors {
    ScenarioErrors(vec![ScenarioError::unreadable(
        path,
        "the profile library",
        e,
    )])
}

fn loc<T>(s: &S<T>) -> (usize, usize) {
    (s.referenced.line() as usize, s.referenced.column() as usize)
}

fn profile_name(p: &RawProvider) -> Option<&str> {
    p.name.as_ref().map(|n| n.value.as_str())
}
