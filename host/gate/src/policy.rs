//! `gate policy ...`: the policy author's workflow.

use crate::policy_new::{BuildArgs, NewArgs};
use crate::policy_oci::{InspectArgs, PullArgs, PushArgs};
use crate::policy_test;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use gate_engine::RuntimeArgs;
use gate_engine::builtin;
use gate_runtime::{CompiledPolicy, Limits};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Work on policies.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run a policy's YAML cases (`cases/*.yaml`) against its compiled component.
    Test(TestArgs),
    /// Scaffold a policy crate (with YAML cases and a README) in policies-wasm/.
    New(NewArgs),
    /// Build a policy crate for wasm32-wasip2.
    Build(BuildArgs),
    /// Publish a policy to an OCI registry (optionally signed).
    Push(Box<PushArgs>),
    /// Fetch a policy from a registry, check its digests, and verify it.
    Pull(PullArgs),
    /// Show a policy artifact: digests, annotations, self-description, signatures.
    Inspect(InspectArgs),
}

impl PolicyCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            PolicyCommand::Test(args) => args.run(),
            PolicyCommand::New(args) => args.run(),
            PolicyCommand::Build(args) => args.run(),
            PolicyCommand::Push(args) => args.run(),
            PolicyCommand::Pull(args) => args.run(),
            PolicyCommand::Inspect(args) => args.run(),
        }
    }
}

/// Run a policy's cases.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Policy crate directories (e.g. `policies-wasm/disallow-privileged`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,

    /// The component to test. Default: the crate's build output under
    /// `target/wasm32-wasip2/release/` of its workspace, else the built-in policy of
    /// the same name.
    #[arg(long)]
    pub wasm: Option<PathBuf>,

    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

impl TestArgs {
    /// Runs every case of every directory; exit 1 if any fails.
    pub fn run(self) -> Result<ExitCode> {
        let runtime = self.runtime.runtime()?;
        let mut failed = 0;
        let mut passed = 0;
        for dir in &self.dirs {
            let (source, bytes) = component_for(dir, self.wasm.as_deref())?;
            let policy = CompiledPolicy::load(&runtime, &source, &bytes, None, &Limits::default())?;
            let files = policy_test::case_files(dir);
            if files.is_empty() {
                bail!("{}: no case files under cases/", dir.display());
            }
            for file in files {
                for outcome in policy_test::run_file(&runtime, &policy, &file)? {
                    match outcome.failure {
                        None => passed += 1,
                        Some(why) => {
                            failed += 1;
                            println!("FAIL {}\n  {}", outcome.name, why.replace('\n', "\n  "));
                        }
                    }
                }
            }
        }
        println!("{passed} passed, {failed} failed");
        Ok(ExitCode::from(u8::from(failed > 0)))
    }
}

/// Finds the component of a policy crate directory (or reads a `.wasm` file).
pub(crate) fn component_for(dir: &Path, wasm: Option<&Path>) -> Result<(String, Vec<u8>)> {
    if let Some(path) = wasm.or_else(|| dir.is_file().then_some(dir)) {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok((path.display().to_string(), bytes));
    }
    let name = dir
        .canonicalize()
        .with_context(|| format!("no policy directory {}", dir.display()))?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = format!("{}.wasm", name.replace('-', "_"));
    let built = dir.join("../target/wasm32-wasip2/release").join(&file);
    if built.is_file() {
        let bytes = std::fs::read(&built)?;
        return Ok((built.display().to_string(), bytes));
    }
    // `gate policy build` honours CARGO_TARGET_DIR; so does finding what it built.
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        let built = PathBuf::from(target)
            .join("wasm32-wasip2/release")
            .join(&file);
        if built.is_file() {
            let bytes = std::fs::read(&built)?;
            return Ok((built.display().to_string(), bytes));
        }
    }
    match builtin::policy(&name) {
        Some(policy) => Ok((format!("builtin:{name}"), policy.wasm.to_vec())),
        None => bail!(
            "no component for {}: build it (`gate policy build`) or pass --wasm",
            dir.display()
        ),
    }
}
