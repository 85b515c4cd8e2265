//! `gate check`: judge manifests in CI.

use crate::attest::{AttestArgs, git_revision};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use gate_core::report::RunContext;
use gate_engine::evaluate::{EvaluateOptions, evaluate_ref};
use gate_engine::loader::BundleRef;
use gate_engine::output::{OutputFormat, render};
use gate_engine::sources::{Inputs, LoadOptions};
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

    /// The largest file or stdin stream read (bytes, or with KiB, MiB, GiB); a
    /// larger input is an error.
    #[arg(long, value_parser = gate_engine::sources::parse_size, default_value = "64MiB")]
    pub max_input_size: u64,

    /// Where OCI modules come from.
    #[command(flatten)]
    pub modules: ModuleArgs,

    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,

    /// The source revision judged, recorded in the report and the evaluation
    /// record [default with --attest: `git rev-parse HEAD` of the first input's repository].
    #[arg(long)]
    pub revision: Option<String>,

    /// Print the framework view instead of the report: per control of FRAMEWORK
    /// (cis, iso27001, gdpr, or a framework a policy declares), the policies that
    /// evidence it and the objects judged, passed, failed, excepted. Text, or JSON
    /// with `--format json`.
    #[arg(long, value_name = "FRAMEWORK")]
    pub by_control: Option<String>,

    /// Evaluation record options.
    #[command(flatten)]
    pub attest: AttestArgs,
}

impl CheckArgs {
    /// Runs the check; the exit code is the report's decision.
    pub fn run(self) -> Result<ExitCode> {
        if self.by_control.is_some()
            && !matches!(self.format, OutputFormat::Text | OutputFormat::Json)
        {
            anyhow::bail!("--by-control prints text or JSON (--format text|json)");
        }
        let attester = self.attest.attester()?;
        let revision = self.revision.clone().or_else(|| {
            // Only a record asks Git: reports stay the same from one commit to the next.
            attester.as_ref().and_then(|_| git_revision(&self.paths))
        });
        let inputs = Inputs::find(&self.paths);
        let runtime = self.runtime.runtime_for(inputs.size())?;
        let bundle = self.modules.load(&runtime, &self.bundle)?;
        // Nothing is handed on after judging: each file's objects keep only what
        // the report and the bundle's policies read.
        let render_input = inputs.load(&LoadOptions {
            max_input_size: self.max_input_size,
            slim: Some(bundle.read_kinds()),
        });
        let options = EvaluateOptions {
            default_namespace: self.namespace.clone(),
            now: self.now.unwrap_or_else(Utc::now),
            context: RunContext {
                front_door: "check".into(),
                revision,
                ..RunContext::default()
            },
            ..EvaluateOptions::default()
        };
        let report = evaluate_ref(&runtime, &bundle, &render_input, &options);
        if let Some(attester) = &attester {
            attester.write(&report, &self.paths)?;
        }
        let text = match &self.by_control {
            Some(framework) => controls_text(&report, framework, self.format)?,
            None => render(&report, self.format),
        };
        match &self.output {
            Some(path) => std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?,
            None => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
            }
        }
        // The process ends here, and the kernel frees everything at exit:
        // unmapping every policy's code and the engine would cost a one-object
        // check more than judging the object, and freeing the objects and the
        // report of a large render one allocation at a time is a serial tail
        // of its own.
        let code = ExitCode::from(report.decision.exit_code());
        std::mem::forget(report);
        std::mem::forget(render_input);
        std::mem::forget(bundle);
        std::mem::forget(runtime);
        Ok(code)
    }
}

/// The framework view of a report, as text or JSON.
fn controls_text(
    report: &gate_core::report::Report,
    framework: &str,
    format: OutputFormat,
) -> Result<String> {
    let evaluation = gate_evidence::predicate::Evaluation::from_report(report, Utc::now());
    let view = gate_evidence::controls::view(&evaluation, framework).map_err(anyhow::Error::msg)?;
    Ok(match format {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&view)?),
        _ => view.to_text(),
    })
}
