//! The `gate` command: one module per subcommand, each a clap struct with a `run`
//! method. The engine call every command shares lives in [`gate_engine`].

pub mod bundle_cmd;
pub mod check;
pub mod cli;
pub mod flux_cmd;
pub mod policy;
pub mod policy_new;
pub mod policy_oci;
pub mod policy_test;

/// Logs to stderr, filtered by `GATE_LOG` (default: warnings).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
