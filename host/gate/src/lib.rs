//! The `gate` command: one module per subcommand, each a clap struct with a `run`
//! method. The engine call every command shares lives in [`gate_engine`].

pub mod attest;
pub mod bundle_cmd;
pub mod bundle_exceptions;
pub mod check;
pub mod cli;
pub mod evidence_cmd;
pub mod flux_cmd;
pub mod policy;
pub mod policy_new;
pub mod policy_oci;
pub mod policy_test;

/// Logs to stderr, filtered by `GATE_LOG` (default: `default_level`). A server
/// (`json`) logs one JSON object per line, for a log pipeline; commands log text
/// for a person, with colour only on a terminal: stderr is often read elsewhere
/// (CI logs, Argo CD's condition box), where escape codes show as garbage.
pub fn init_logging(default_level: &str, json: bool) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}
