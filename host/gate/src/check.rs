//! `gate check`: judge manifests in CI.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use gate_core::report::RunContext;
use gate_engine::evaluate::{EvaluateOptions, evaluate};
use gate_engine::loader::BundleRef;
use gate_engine::output::{OutputFormat, render};
use gate_engine::{ModuleArgs, RuntimeArgs};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Check manifests against a bundle.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories of manifests (.yaml, .yml, .json; directories are
    /// searched recursively), or `-` for stdin (e.g. `kustomize build | gate check -`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,

    /// The bundle: a bundle file, or `builtin:NAME`.
    #[arg(long, short, default_value = "builtin:default")]
    pub bundle: BundleRef,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Write the report to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,

    /// The namespace of namespaced objects that set none (as `kubectl -n`).
    #[arg(long, short)]
    pub namespace: Option<String>,

    /// Evaluate exceptions as of this instant (RFC 3339) instead of now.
    #[arg(long, hide = true)]
    pub now: Option<DateTime<Utc>>,

    /// Where OCI modules come from.
    #[command(flatten)]
    pub modules: ModuleArgs,

    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

impl CheckArgs {
    /// Runs the check; the exit code is the report's decision.
    pub fn run(self) -> Result<ExitCode> {
        let runtime = self.runtime.runtime()?;
        let bundle = self.modules.load(&runtime, &self.bundle)?;
        let render_input = gate_engine::sources::load(&self.paths);
        let options = EvaluateOptions {
            default_namespace: self.namespace.clone(),
            now: self.now.unwrap_or_else(Utc::now),
            context: RunContext {
                front_door: "check".into(),
                ..RunContext::default()
            },
            ..EvaluateOptions::default()
        };
        let report = evaluate(&runtime, &bundle, render_input, &options);
        let text = render(&report, self.format);
        match &self.output {
            Some(path) => std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?,
            None => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
            }
        }
        Ok(ExitCode::from(report.decision.exit_code()))
    }
}
