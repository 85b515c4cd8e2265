//! The command line.

use crate::bundle_cmd::BundleCommand;
use crate::check::CheckArgs;
use crate::policy::PolicyCommand;
use clap::{Args, Parser, Subcommand};
use gate_runtime::{Runtime, RuntimeConfig};
use std::path::PathBuf;
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
        }
    }
}

/// Options of the policy runtime, shared by every command that runs policies.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Directory of the precompiled-component cache
    /// [default: $XDG_CACHE_HOME/gate or ~/.cache/gate].
    #[arg(long, env = "GATE_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,

    /// Compile every policy, and cache nothing.
    #[arg(long, global = true)]
    pub no_cache: bool,
}

impl RuntimeArgs {
    /// The cache directory in use, if any.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(base.join("gate").join("components"))
        })
    }

    /// Starts the runtime.
    pub fn runtime(&self) -> anyhow::Result<Runtime> {
        Ok(Runtime::new(RuntimeConfig {
            cache_dir: self.cache_dir(),
            max_concurrency: None,
        })?)
    }
}
