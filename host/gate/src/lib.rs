//! The `gate` command: one module per subcommand, each a clap struct with a `run`
//! method. The engine call every command shares lives in [`gate_engine`].

pub mod attest;
pub mod bundle_cmd;
pub mod bundle_exceptions;
pub mod check;
pub mod cli;
pub mod evidence_cmd;
pub mod policy;
pub mod policy_new;
pub mod policy_oci;
pub mod policy_test;

/// Logs to stderr, filtered by `GATE_LOG` (default: `default_level`). Colour
/// only on a terminal: stderr is often read elsewhere (CI logs, Argo CD's
/// condition box), where escape codes show as garbage.
pub fn init_logging(default_level: &str) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
