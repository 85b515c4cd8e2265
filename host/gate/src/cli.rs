//! The command line.

use crate::bundle_cmd::BundleCommand;
use crate::check::CheckArgs;
use crate::flux_cmd::FluxCommand;
use crate::policy::PolicyCommand;
use clap::{Parser, Subcommand};
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
    /// Flux: publish only approved revisions as ExternalArtifacts.
    #[command(subcommand)]
    Flux(FluxCommand),
}

impl Cli {
    /// Runs the command and returns the process exit code.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        // rustls needs one crypto provider per process before any registry connection.
        gate_oci::install_crypto_provider();
        match self.command {
            Command::Check(args) => args.run(),
            Command::Policy(command) => command.run(),
            Command::Bundle(command) => command.run(),
            Command::Flux(command) => command.run(),
        }
    }
}
