//! `gate argocd`: the commands Argo CD's sidecar runs.

use crate::generate::GenerateArgs;
use clap::Subcommand;
use std::process::ExitCode;

/// The Argo CD config-management plugin.
#[derive(Debug, Subcommand)]
pub enum ArgocdCommand {
    /// The plugin's generate command: render the app, judge it, and print the
    /// render only if the bundle allows it. Exit 0 allowed, 1 denied, 2 error.
    Generate(GenerateArgs),
}

impl ArgocdCommand {
    /// Runs the command; failures are reported on stderr, never raised.
    pub fn run(self) -> ExitCode {
        match self {
            ArgocdCommand::Generate(args) => args.run(),
        }
    }
}
