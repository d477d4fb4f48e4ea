//! `spillway inspect-headers`: paste or pipe a response's headers, see what Spillway reads.
//!
//! The point is debugging a gateway against a real provider: `curl -si … | spillway
//! inspect-headers` shows every limit, remaining count, reset (as exact nanoseconds) and wait
//! hint the headroom model will see, and lists every header it could not use, so a surprising
//! throttle can be traced to a header.

use crate::Failure;
use crate::stdout::outln;
use clap::Args;
use spillway_core::upstream::headers::{
    Provider, UnixNanos, parse_header_lines, parse_headers, parse_http_date,
};
use std::io::Read;

/// Most bytes read from stdin (headers are a few KB; this bounds a mistaken pipe).
const MAX_INPUT_BYTES: u64 = 4 << 20;

/// The long `--help` text (used by the subcommand in main.rs).
pub const LONG_ABOUT: &str = "Read raw HTTP response header lines (`name: value`, one per line) on stdin \
and print the parsed rate-limit snapshot as one line of JSON: provider, date, retry_after_ns, \
retry_at, should_retry (x-should-retry), per-dimension limit / remaining / reset_after_ns / reset_at / utilization_ppm, \
ignored header names and per-header errors.\n\n\
Accepted input: `curl -i` output (HTTP status lines are skipped), blank lines, `#` comment \
lines and trailing ` # comments`, CRLF line ends. A line that is not a header (no colon, bad \
name, folded continuation) is an error naming the line: exit 2.\n\n\
Unreadable header values do not stop the parse: they are listed under \"errors\" (exit 0), \
unless --strict is given (exit 2).";

/// Arguments of `inspect-headers`.
#[derive(Args)]
#[command(
    after_help = "Example:\n  printf 'x-ratelimit-limit-requests: 5000\\nx-ratelimit-reset-requests: 12ms\\n' \
| spillway inspect-headers --provider openai"
)]
pub struct InspectHeadersArgs {
    /// Who sent the headers: openai, anthropic, azure, gemini, mistral, generic, or auto
    /// (infer from header names). Only labels the output; values are read the same way.
    #[arg(long, default_value = "auto", value_parser = parse_provider)]
    provider: Provider,
    /// The time the response arrived, as an HTTP-date (`Fri, 29 Sep 2023 16:26:27 GMT`); used
    /// to turn absolute resets into waits only when the headers carry no valid `Date`.
    #[arg(long, value_parser = parse_date)]
    date: Option<UnixNanos>,
    /// Exit 2 if any header value could not be read (the JSON is still printed).
    #[arg(long)]
    strict: bool,
}

fn parse_provider(text: &str) -> Result<Provider, String> {
    Provider::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
        format!(
            "unknown provider {text:?}; expected one of {}",
            names.join(", ")
        )
    })
}

fn parse_date(text: &str) -> Result<UnixNanos, String> {
    parse_http_date(text)
        .map_err(|e| format!("{e}; expected an HTTP-date such as `Fri, 29 Sep 2023 16:26:27 GMT`"))
}

/// Run the command on stdin.
pub fn run(args: &InspectHeadersArgs) -> Result<(), Failure> {
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut input)
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot read stdin: {e}")))?;
    let json = inspect(&input, args)?;
    outln!("{}", json.text);
    if args.strict && json.errors > 0 {
        return Err(Failure::BadInput(format!(
            "stdin: {} header value{} could not be read (see \"errors\" above)",
            json.errors,
            if json.errors == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// The JSON snapshot and how many values failed.
struct Inspected {
    text: String,
    errors: usize,
}

fn inspect(input: &[u8], args: &InspectHeadersArgs) -> Result<Inspected, Failure> {
    if input.len() as u64 > MAX_INPUT_BYTES {
        return Err(Failure::BadInput(format!(
            "stdin: more than {MAX_INPUT_BYTES} bytes; response headers are far smaller"
        )));
    }
    let text = std::str::from_utf8(input).map_err(|e| {
        Failure::BadInput(format!(
            "stdin: not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let pairs = parse_header_lines(text).map_err(|e| Failure::BadInput(format!("stdin: {e}")))?;
    let snapshot = parse_headers(pairs, args.provider, args.date);
    Ok(Inspected {
        text: snapshot.to_json(),
        errors: snapshot.errors.len(),
    })
}
