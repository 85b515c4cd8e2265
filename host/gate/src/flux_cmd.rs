//! `gate flux ...`: the Flux front door (the controller, the one-shot check and
//! the CRD). The work is in the `gate-flux` crate; this file only maps flags.

use crate::attest::{AttestArgs, SigningArgs};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use gate_engine::RuntimeArgs;
use gate_engine::loader::{BundleRef, load_bundle};
use gate_engine::output::{OutputFormat, render};
use gate_engine::registry_args::RegistryArgs;
use gate_engine::render::RenderOptions;
use gate_flux::check::{CheckSource, check};
use gate_flux::controller::{ServeOptions, serve};
use gate_flux::extract::Limits;
use gate_flux::fetch::FetchOptions;
use gate_flux::flux_api::SourceKind;
use gate_flux::pipeline::Pipeline;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Gate Flux: publish only approved revisions as ExternalArtifacts.
#[derive(Debug, Subcommand)]
pub enum FluxCommand {
    /// Run the controller: judge each new revision of the sources Gates name and
    /// publish approved renders as ExternalArtifacts, served over HTTP.
    Serve(Box<ServeArgs>),
    /// Judge a source artifact once (CI, pre-sync Jobs). Exit 0 allowed, 1
    /// denied, 2 error (digest mismatch, unsafe archive, ...). It publishes nothing.
    Check(Box<CheckArgs>),
    /// Print the Gate CRD (gate.dev/v1alpha1).
    Crd,
}

impl FluxCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            FluxCommand::Serve(args) => args.run(),
            FluxCommand::Check(args) => args.run(),
            FluxCommand::Crd => {
                print!("{}", gate_flux::crd::crd_yaml());
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// Limits on what is downloaded, extracted and rendered.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// The largest source artifact downloaded, in bytes.
    #[arg(long, default_value_t = 256 << 20)]
    pub max_download: u64,
    /// The most bytes of files an artifact may extract to.
    #[arg(long, default_value_t = Limits::default().max_bytes)]
    pub max_extract: u64,
    /// The most entries (files and directories) an artifact may hold.
    #[arg(long, default_value_t = Limits::default().max_entries)]
    pub max_files: u64,
    /// The longest path of an entry, in bytes.
    #[arg(long, default_value_t = Limits::default().max_path_len)]
    pub max_path: usize,
    /// Seconds a renderer (kustomize, helm) may run.
    #[arg(long, default_value_t = 45)]
    pub render_timeout: u64,
    /// Replace the host of artifact URLs (as kustomize-controller's
    /// SOURCE_CONTROLLER_LOCALHOST), e.g. `localhost:9090` with a port-forward.
    #[arg(long, env = "SOURCE_CONTROLLER_LOCALHOST")]
    pub source_host: Option<String>,
}

impl LimitArgs {
    fn pipeline(&self, work_dir: PathBuf) -> Result<Pipeline> {
        let fetch = FetchOptions {
            max_download: self.max_download,
            host_override: self.source_host.clone().filter(|h| !h.is_empty()),
            ..FetchOptions::default()
        };
        let limits = Limits {
            max_bytes: self.max_extract,
            max_entries: self.max_files,
            max_path_len: self.max_path,
        };
        let render = RenderOptions {
            timeout: Duration::from_secs(self.render_timeout),
            ..RenderOptions::default()
        };
        Ok(Pipeline::new(fetch, limits, render, work_dir)?)
    }
}

/// `gate flux serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The platform configuration: bundles, and which namespaces may use which.
    #[arg(
        long,
        env = "GATE_FLUX_CONFIG",
        default_value = "/etc/gate/config.yaml"
    )]
    pub config: PathBuf,
    /// Where approved artifacts are stored.
    #[arg(long, default_value = "/data/artifacts")]
    pub storage_path: PathBuf,
    /// Where the artifact server listens.
    #[arg(long, default_value = "0.0.0.0:9090")]
    pub storage_addr: SocketAddr,
    /// The base URL of the artifact server, as kustomize-controller reaches it.
    #[arg(
        long,
        env = "GATE_STORAGE_ADV_ADDR",
        default_value = "http://gate-flux.flux-system.svc.cluster.local."
    )]
    pub storage_adv_addr: String,
    /// Approved artifacts kept per Gate (the published one included).
    #[arg(long, default_value_t = 2)]
    pub artifact_retention_records: usize,
    /// Where downloads and extracted trees go while they are judged [default: the system temp dir].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Watch this namespace only (a Role is then enough) instead of all.
    #[arg(long)]
    pub watch_namespace: Option<String>,
    /// Seconds between two looks at an unchanged Gate.
    #[arg(long, default_value_t = 600)]
    pub interval: u64,
    /// Seconds before a Gate whose judgement failed (download, render, bundle...) is tried again.
    #[arg(long, default_value_t = 60)]
    pub retry_interval: u64,
    /// Gates judged at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrent: u16,
    /// Limits.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Registry options (bundles with OCI modules).
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Evaluation records.
    #[command(flatten)]
    pub signing: SigningArgs,
}

impl ServeArgs {
    fn run(self) -> Result<ExitCode> {
        let attester = self.signing.attester()?.map(Arc::new);
        // A controller keeps creating instances: a pool pays for itself.
        let runtime = self
            .runtime
            .runtime_with(gate_runtime::InstanceAllocator::Pooling)?;
        let work_dir = self.work_dir.clone().unwrap_or_else(std::env::temp_dir);
        let options = ServeOptions {
            config: self.config,
            storage_path: self.storage_path,
            storage_addr: self.storage_addr,
            storage_adv_addr: self.storage_adv_addr,
            retention: self.artifact_retention_records,
            pipeline: self.limits.pipeline(work_dir)?,
            watch_namespace: self.watch_namespace,
            interval: Duration::from_secs(self.interval.max(1)),
            retry: Duration::from_secs(self.retry_interval.max(1)),
            concurrent: self.concurrent,
            registry: self.registry,
            attester,
        };
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(serve(options, runtime))?;
        Ok(ExitCode::SUCCESS)
    }
}

/// `gate flux check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The Flux source to read through the API: `gitrepository/NAME`,
    /// `ocirepository/NAME` or `bucket/NAME`.
    #[arg(long, conflicts_with_all = ["artifact_url", "digest"], required_unless_present = "artifact_url")]
    pub source: Option<String>,
    /// The namespace of `--source`.
    #[arg(long, short, default_value = "flux-system")]
    pub namespace: String,
    /// The artifact URL, instead of `--source`.
    #[arg(long, requires = "digest")]
    pub artifact_url: Option<String>,
    /// The digest the artifact must have (`sha256:<hex>`), with `--artifact-url`.
    #[arg(long, requires = "artifact_url")]
    pub digest: Option<String>,
    /// The source revision the artifact holds, with `--artifact-url` (with
    /// `--source`, the source's own revision is used).
    #[arg(long, requires = "artifact_url")]
    pub revision: Option<String>,
    /// The directory of the artifact to render, as a Kustomization's spec.path.
    #[arg(long, default_value = "./")]
    pub path: String,
    /// The bundle: a bundle file, or `builtin:NAME`.
    #[arg(long, short, default_value = "builtin:default")]
    pub bundle: BundleRef,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Evaluation record options.
    #[command(flatten)]
    pub attest: AttestArgs,
    /// Write the judged render (the stream the controller would publish) to this file.
    #[arg(long)]
    pub render_output: Option<PathBuf>,
    /// Use only the local OCI store: no registry is contacted.
    #[arg(long)]
    pub offline: bool,
    /// Limits.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

impl CheckArgs {
    fn run(self) -> Result<ExitCode> {
        let source = match (&self.source, &self.artifact_url, &self.digest) {
            (Some(source), _, _) => {
                let Some((kind, name)) = source.split_once('/') else {
                    bail!("--source {source:?}: expected KIND/NAME, e.g. gitrepository/podinfo");
                };
                let kind = SourceKind::parse(kind).with_context(|| {
                    format!("--source {source:?}: the kind must be gitrepository, ocirepository or bucket")
                })?;
                CheckSource::Object {
                    kind,
                    name: name.to_owned(),
                    namespace: self.namespace.clone(),
                }
            }
            (None, Some(url), Some(digest)) => CheckSource::Url {
                url: url.clone(),
                digest: digest.clone(),
                revision: self.revision.clone(),
            },
            _ => bail!("give --source KIND/NAME, or --artifact-url with --digest"),
        };
        let record = self.attest.attester()?;
        let runtime = Arc::new(self.runtime.runtime()?);
        let resolver = gate_engine::oci_resolver::resolver_for(
            &self.bundle,
            &self.registry,
            self.offline,
            None,
        )?;
        let bundle = Arc::new(load_bundle(&runtime, &self.bundle, resolver.as_ref())?);
        let work = tempfile::tempdir().context("cannot create a work directory")?;
        let pipeline = self.limits.pipeline(work.path().to_owned())?;
        let default_namespace = match &source {
            CheckSource::Object { namespace, .. } => Some(namespace.clone()),
            CheckSource::Url { .. } => None,
        };
        let checked = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(check(
                &source,
                &self.path,
                &pipeline,
                runtime,
                bundle,
                default_namespace,
            ))?;
        let judgement = &checked.judgement;
        if let Some(record) = &record {
            let subjects = gate_flux::record::subjects(judgement, &checked.source_digest, None);
            record.write_subjects(&judgement.report, subjects)?;
        }
        if let Some(path) = &self.render_output {
            std::fs::write(path, &judgement.stream)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(render(&judgement.report, self.format).as_bytes())?;
        stdout.flush()?;
        Ok(ExitCode::from(judgement.report.decision.exit_code()))
    }
}
