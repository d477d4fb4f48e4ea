//! `serve:` — `spillway serve`'s block, parsed in core ([`spillway_core::policy::serve`]) so
//! that a scenario and a standalone policy file share it; re-exported here for old paths.

pub use spillway_core::policy::serve::*;

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
        let e = errors("serve:\n  upstream: http://u:pw@x:1/v\n");
        assert!(
            e.contains("s.yaml:9:13: serve.upstream: `http://***@x:1/v` carries credentials")
                && !e.contains("u:pw"),
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
