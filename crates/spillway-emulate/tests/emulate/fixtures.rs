//! Profiles and servers for the tests.

use spillway_emulate::{Config, Running, TimeScale, profile};
use spillway_sim::provider::ProviderSpec;
use std::path::{Path, PathBuf};

/// A provider library written to a fresh temp dir; returns its path.
pub fn library(test: &str, yaml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spillway-emulate-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("providers.yaml");
    std::fs::write(&path, yaml).expect("write library");
    path
}

/// The one profile of `yaml`.
pub fn spec(test: &str, yaml: &str) -> ProviderSpec {
    let path = library(test, yaml);
    profile::resolve(path.to_str().expect("utf-8 path"), Path::new("unused"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A tight OpenAI profile: `rpm` requests a minute, `retry-after` always sent.
pub fn tight_openai(rpm: u64) -> String {
    format!(
        "profiles:\n  - name: tight\n    kind: openai\n    rpm: {rpm}\n    tpm: 10000000\n    retry_after_probability: 1.0\n    latency: {{ model: constant, mean: 20ms }}\n"
    )
}

pub async fn start(spec: ProviderSpec, scale: &str) -> Running {
    let mut config = Config::new(spec, "127.0.0.1:0".parse().expect("addr"));
    config.scale = TimeScale::parse(scale).expect("scale");
    spillway_emulate::start(config)
        .await
        .expect("server starts")
}

pub fn chat(max_tokens: u64, stream: bool) -> Vec<u8> {
    serde_json::json!({
        "model": "gpt-test",
        "messages": [{"role": "user", "content": "hello there, emulator"}],
        "max_tokens": max_tokens,
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
    .to_string()
    .into_bytes()
}
