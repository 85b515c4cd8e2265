//! `gate argocd generate`: the plugin's generate command.
//!
//! Renders the app (or reads a render from stdin), judges it with the bundle the
//! platform chose for it, and prints the whole render only if it is allowed.
//! Anything else exits non-zero with nothing on stdout: Argo CD then keeps what
//! is deployed and shows stderr in the Application's condition, where an empty
//! or partial output would have pruned objects.

use crate::annotate::annotate_approved;
use crate::attest::Recorder;
use crate::condition::{self, Judged};
use crate::config::{DEFAULT_CONFIG, PluginConfig};
use crate::env::AppEnv;
use crate::error::{Error, Result};
use crate::report_file;
use crate::selection::{Selection, mode_name, select};
use chrono::Utc;
use clap::Args;
use gate_core::bundle::Mode;
use gate_core::report::{Decision, RunContext};
use gate_engine::oci_resolver::resolver_for;
use gate_engine::registry_args::RegistryArgs;
use gate_engine::render::{self, HelmOptions, RenderOptions};
use gate_engine::sources::{self, Loaded};
use gate_engine::{EvaluateOptions, LoadedBundle, RuntimeArgs, evaluate_ref, load_bundle};
use gate_runtime::Runtime;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Render the app in DIR (default: the current directory, as Argo CD runs the
/// command) or read a render from stdin (`-`), judge it with the bundle the
/// platform's configuration chooses for the app, and print it only if allowed.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The app directory, or `-` for a render on stdin.
    #[arg(default_value = ".")]
    pub source: PathBuf,

    /// The platform's configuration: which bundle and modes each project may use.
    #[arg(long, env = "GATE_ARGOCD_CONFIG", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,

    /// Where full JSON reports are written [default: $TMPDIR/gate-reports].
    #[arg(long, env = "GATE_REPORT_DIR")]
    pub report_dir: Option<PathBuf>,

    /// The whole run's budget in seconds, rendering and registry calls included.
    /// Keep it below the repo-server's timeout (60 s by default), so the reason
    /// reaches the Application instead of a bare timeout.
    #[arg(long, env = "GATE_ARGOCD_DEADLINE", default_value_t = 50)]
    pub deadline: u64,

    /// Use only the local OCI store: no registry is contacted.
    #[arg(long)]
    pub offline: bool,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// What a run ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The render, only when allowed.
    pub stdout: String,
    /// For people: the condition text or the sidecar log line.
    pub stderr: String,
    /// 0 allowed, 1 denied, 2 gate could not decide.
    pub code: u8,
}

impl Outcome {
    fn fail(stderr: String, code: u8) -> Outcome {
        Outcome {
            stdout: String::new(),
            stderr,
            code,
        }
    }
}

/// Headroom kept for writing the outcome once a step has used its share.
const MARGIN: Duration = Duration::from_secs(2);

impl GenerateArgs {
    /// Runs the command: stdout only on allow, the exit code of the outcome.
    pub fn run(self) -> ExitCode {
        let budget = Duration::from_secs(self.deadline.max(1));
        let deadline = Instant::now() + budget;
        watchdog(budget);
        let outcome = match self.generate(deadline) {
            Ok(outcome) => outcome,
            Err(error) => Outcome::fail(condition::failed(&error), 2),
        };
        let mut code = outcome.code;
        let mut stderr = outcome.stderr;
        if !outcome.stdout.is_empty() {
            let mut out = std::io::stdout().lock();
            if let Err(error) = out
                .write_all(outcome.stdout.as_bytes())
                .and_then(|()| out.flush())
            {
                stderr = condition::failed(&Error::Stdout(error));
                code = 2;
            }
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(stderr.as_bytes());
        let _ = err.flush();
        ExitCode::from(code)
    }

    /// Decides; every path that is not an allow leaves stdout empty.
    pub fn generate(&self, deadline: Instant) -> Result<Outcome> {
        let env = AppEnv::from_process()?;
        let config = PluginConfig::load(&self.config)?;
        let recorder = config.attest.as_ref().map(Recorder::new).transpose()?;
        let selection = match select(&config, &env) {
            Ok(selection) => selection,
            Err(refusal) => return Ok(Outcome::fail(condition::refused(&refusal), 1)),
        };
        // The bundle loads (and its components compile, on a cold cache) while
        // the app renders.
        let (render, loaded) = std::thread::scope(|scope| {
            let loading = scope.spawn(|| self.load(&selection));
            let render = self.read_render(&env, deadline);
            let loaded = loading
                .join()
                .unwrap_or_else(|_| Err(Error::Runtime("the bundle loader panicked".into())));
            (render, loaded)
        });
        let mut render = render?;
        // A bundle that cannot load fails every app, even one meant to be empty:
        // the platform hears of it at once.
        let (runtime, bundle) = loaded?;
        if render.resources.is_empty() && render.errors.is_empty() {
            let label = self.source.display().to_string();
            return Ok(if selection.allow_empty {
                let rule = selection
                    .rule
                    .as_deref()
                    .map_or("the default".to_owned(), |r| format!("rule {r:?}"));
                Outcome {
                    stdout: String::new(),
                    stderr: condition::intended_empty(&rule),
                    code: 0,
                }
            } else {
                Outcome::fail(condition::empty(&label), 2)
            });
        }
        let options = EvaluateOptions {
            default_namespace: env.namespace.clone(),
            now: Utc::now(),
            context: context(&env, &selection),
            ..EvaluateOptions::default()
        };
        let report = evaluate_ref(&runtime, &bundle, &render, &options);
        // The render as judged: what stdout gets when it is allowed (unless the
        // approval annotation is added), and what the record's `<render>` names.
        let judged = render::to_stream(&render.resources);
        if let Some(recorder) = &recorder {
            // Before anything reaches stdout: no record, no render.
            recorder.write(&env, &self.source, &judged, &report)?;
        }
        let report_dir = self
            .report_dir
            .clone()
            .unwrap_or_else(report_file::default_dir);
        let noteworthy = report.decision != Decision::Allow
            || !report.results.is_empty()
            || !report.notices.is_empty();
        let file = noteworthy.then(|| report_file::write(&report_dir, &env, &report));
        let stderr = condition::judged(&Judged {
            report: &report,
            resources: &render.resources,
            default_namespace: env.namespace.as_deref(),
            mode: mode_name(selection.mode),
            report_file: file.as_ref(),
        });
        if report.decision != Decision::Allow {
            return Ok(Outcome::fail(stderr, report.decision.exit_code()));
        }
        let stdout = if selection.annotate_approved {
            annotate_approved(&mut render.resources, &report.bundle_digest);
            render::to_stream(&render.resources)
        } else {
            judged
        };
        Ok(Outcome {
            stdout,
            stderr,
            code: 0,
        })
    }

    /// The render: the app directory rendered as Argo CD would, or stdin.
    fn read_render(&self, env: &AppEnv, deadline: Instant) -> Result<Loaded> {
        if self.source.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(Error::Stdin)?;
            return Ok(sources::parse_text("<stdin>", &text));
        }
        let options = RenderOptions {
            helm: HelmOptions {
                release_name: env.release_name(),
                namespace: env.namespace.clone(),
                values_files: env.values_files.clone(),
                kube_version: env.cluster.kube_version.clone(),
                api_versions: env.cluster.api_versions.clone(),
            },
            timeout: deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(MARGIN)
                .max(Duration::from_secs(1)),
            ..RenderOptions::default()
        };
        let rendered = render::render_dir(&self.source, &options).map_err(Error::Render)?;
        Ok(rendered.loaded)
    }

    /// The runtime and the chosen bundle, in audit mode when chosen so.
    fn load(&self, selection: &Selection) -> Result<(Runtime, LoadedBundle)> {
        let runtime = self
            .runtime
            .runtime()
            .map_err(|e| Error::Runtime(e.into()))?;
        let reference = &selection.bundle.reference;
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| Error::Bundle {
            bundle: selection.bundle_name.clone(),
            reference: selection.bundle.written.clone(),
            source,
        };
        let resolver = resolver_for(reference, &self.registry, self.offline, None)
            .map_err(|e| failed(e.into()))?;
        let mut bundle =
            load_bundle(&runtime, reference, resolver.as_ref()).map_err(|e| failed(e.into()))?;
        if selection.mode == Mode::Audit {
            bundle.audit_only();
        }
        Ok((runtime, bundle))
    }
}

/// What the report records about the run: the app, the revision, the cluster,
/// and the choice made for it.
fn context(env: &AppEnv, selection: &Selection) -> RunContext {
    let mut metadata = env.metadata();
    metadata.insert("argocd.bundle".into(), selection.bundle_name.clone());
    metadata.insert("argocd.mode".into(), mode_name(selection.mode).into());
    metadata.insert(
        "argocd.rule".into(),
        selection.rule.clone().unwrap_or_else(|| "default".into()),
    );
    RunContext {
        front_door: "argocd".into(),
        revision: env.revision.clone(),
        default_namespace: None,
        cluster: env.cluster.clone(),
        metadata,
    }
}

/// Past the budget, gate stops with a reason rather than leave Argo CD to cut it
/// off with a bare deadline error. Nothing has been written to stdout unless
/// the render was allowed, and a non-zero exit makes Argo CD ignore it anyway.
fn watchdog(budget: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "gate: ERROR no decision within {} s (GATE_ARGOCD_DEADLINE); nothing was synced",
            budget.as_secs()
        );
        let _ = err.flush();
        std::process::exit(2);
    });
}
