//! gate: a GitOps policy gate for Kubernetes.
//!
//! Every front door (the `check` command, the Argo CD plugin, the Flux gate, the
//! admission webhook) is a thin adapter onto one call: [`evaluate::evaluate`],
//! which loads manifests, runs a loaded bundle over them and returns one
//! [`gate_core::report::Report`].

pub mod builtin;
pub mod bundle_cmd;
pub mod check;
pub mod cli;
pub mod evaluate;
pub mod loader;
pub mod oci_resolver;
pub mod output;
pub mod policy;
pub mod policy_new;
pub mod policy_oci;
pub mod policy_test;
pub mod registry_args;
pub mod sources;

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
