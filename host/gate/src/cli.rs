//! The command line.

use crate::bundle_cmd::BundleCommand;
use crate::check::CheckArgs;
use crate::evidence_cmd::EvidenceCommand;
use crate::flux_cmd::FluxCommand;
use crate::policy::PolicyCommand;
use clap::{Parser, Subcommand};
use gate_argocd::ArgocdCommand;
use std::process::ExitCode;

/// gate: judge rendered Kubernetes manifests with signed WebAssembly policies.
#[derive(Debug, Parser)]
#[command(name = "gate", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check manifests against a bundle. Exit 0 allowed, 1 denied, 2 error.
    Check(CheckArgs),
    /// Write, test, build and publish policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Pin a bundle's OCI modules, and move them to air-gapped sites.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Verify and read signed evaluation records (`gate check --attest`).
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// The Argo CD config-management plugin (run by the repo-server sidecar).
    #[command(subcommand)]
    Argocd(ArgocdCommand),
    /// Serve the admission webhook over TLS (POST /validate, /healthz, /readyz, /metrics).
    Serve(gate_webhook::ServeArgs),
    /// Flux: publish only approved revisions as ExternalArtifacts.
    #[command(subcommand)]
    Flux(FluxCommand),
}

impl Cli {
    /// The log level when `GATE_LOG` is unset. The Argo CD plugin's stderr is what
    /// people read in the Application's condition: no retry chatter there. A
    /// server logs requests from `info` up.
    pub fn default_log_level(&self) -> &'static str {
        match self.command {
            Command::Argocd(_) => "error",
            Command::Serve(_) => "info",
            _ => "warn",
        }
    }

    /// Does the command log JSON lines (a server) rather than text for a person?
    pub fn logs_json(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }

    /// Runs the command and returns the process exit code.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        // rustls needs one crypto provider per process before any registry connection.
        gate_oci::install_crypto_provider();
        match self.command {
            Command::Check(args) => args.run(),
            Command::Policy(command) => command.run(),
            Command::Bundle(command) => command.run(),
            Command::Evidence(command) => command.run(),
            Command::Argocd(command) => Ok(command.run()),
            Command::Serve(args) => {
                args.run()?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Flux(command) => command.run(),
        }
    }
}
