//! `gate bundle lock|save|load`: pin a bundle's OCI modules, and carry them
//! (with their signatures) to air-gapped sites.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use gate_engine::loader::BundleRef;
use gate_engine::oci_resolver::{
    TRUST_POLICY_FILES, lock_for, oci_modules, pinned, registries_of_bundle, trust_policy_for,
};
use gate_engine::registry_args::{RegistryArgs, async_runtime};
use gate_oci::lock::{LockFile, LockedPolicy};
use gate_oci::{TrustPolicy, digest};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Work on bundles.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Resolve every OCI tag in a bundle to a digest; write `<bundle>.lock.yaml`.
    Lock(LockArgs),
    /// Write a bundle's OCI modules and their signatures to an OCI image layout tarball.
    Save(SaveArgs),
    /// Load a tarball written by `gate bundle save` into the local store.
    Load(LoadArgs),
    /// List every exception with its expiry; exit 1 when one has expired.
    Exceptions(crate::bundle_exceptions::ExceptionsArgs),
}

impl BundleCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            BundleCommand::Lock(args) => args.run(),
            BundleCommand::Save(args) => args.run(),
            BundleCommand::Load(args) => args.run(),
            BundleCommand::Exceptions(args) => args.run(),
        }
    }
}

/// `gate bundle lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// The bundle file.
    pub bundle: PathBuf,

    /// Trust policy to verify with [default: the bundle's].
    #[arg(long)]
    pub trust_policy: Option<PathBuf>,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `gate bundle save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// The bundle file.
    pub bundle: PathBuf,

    /// The tarball to write.
    #[arg(long, short)]
    pub output: PathBuf,

    /// Trust policy to verify with [default: the bundle's].
    #[arg(long)]
    pub trust_policy: Option<PathBuf>,

    /// Use only the local store.
    #[arg(long)]
    pub offline: bool,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `gate bundle load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The tarball.
    pub tarball: PathBuf,

    /// Registry options (for the store location).
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Reads a bundle file and its trust policy (`--trust-policy`, else the bundle's own).
fn read_with_trust(
    path: &Path,
    explicit: Option<&Path>,
) -> Result<(BundleRef, gate_core::bundle::Bundle, Option<TrustPolicy>)> {
    let bundle_ref = BundleRef::File(path.to_path_buf());
    let (bundle, base_dir) = bundle_ref.read()?;
    let trust = trust_policy_for(&bundle_ref, &bundle, &base_dir, explicit)?;
    Ok((bundle_ref, bundle, trust))
}

/// Says, on stderr, that a bundle's modules are not verified because no trust policy applies.
fn no_trust_notice(bundle: &Path) {
    eprintln!(
        "warning: no trust policy applies to {}: the signatures of its OCI modules are NOT verified \
         (give one with --trust-policy, spec.trust in the bundle, or {} beside it); \
         `gate check` will refuse these modules until one does",
        bundle.display(),
        TRUST_POLICY_FILES.join(" or ")
    );
}

/// Prints the warnings of a pulled module and what vouched for it.
fn report_verification(pulled: &gate_oci::Pulled) {
    for notice in &pulled.notices {
        eprintln!("warning: {notice}");
    }
    if let Some(acceptance) = &pulled.acceptance {
        for line in &acceptance.trusted_by {
            eprintln!("verified {}: {line}", pulled.reference);
        }
    }
}

impl LockArgs {
    /// Resolves, pulls and verifies every OCI module; writes the lock file.
    pub fn run(self) -> Result<ExitCode> {
        let (_, bundle, trust) = read_with_trust(&self.bundle, self.trust_policy.as_deref())?;
        let client = self
            .registry
            .client(false, &registries_of_bundle(&bundle)?)?;
        let rt = async_runtime()?;
        if trust.is_none() && !oci_modules(&bundle).is_empty() {
            no_trust_notice(&self.bundle);
        }
        let mut locked = Vec::new();
        for module in oci_modules(&bundle) {
            let reference = gate_oci::ArtifactRef::parse(&module)?;
            let digest = rt.block_on(client.resolve(&reference))?;
            let pulled = rt.block_on(client.pull_policy(
                &reference.at_digest(&digest),
                trust.as_ref(),
                true,
            ))?;
            report_verification(&pulled);
            println!("{module} -> {}", pulled.reference);
            locked.push(LockedPolicy {
                module,
                reference: pulled.reference.to_string(),
                component: digest::sha256(&pulled.artifact.wasm),
            });
        }
        if locked.is_empty() {
            bail!("{}: no oci:// modules to lock", self.bundle.display());
        }
        let path = LockFile::path_for(&self.bundle);
        LockFile::new(locked).write(&path)?;
        println!("wrote {}", path.display());
        Ok(ExitCode::SUCCESS)
    }
}

impl SaveArgs {
    /// Pulls (verified) every pinned OCI module with its signatures; writes the tarball.
    pub fn run(self) -> Result<ExitCode> {
        let (bundle_ref, bundle, trust) =
            read_with_trust(&self.bundle, self.trust_policy.as_deref())?;
        let lock = lock_for(&bundle_ref)?;
        let client = self
            .registry
            .client(self.offline, &registries_of_bundle(&bundle)?)?;
        let rt = async_runtime()?;
        if trust.is_none() && !oci_modules(&bundle).is_empty() {
            no_trust_notice(&self.bundle);
        }
        let mut names = Vec::new();
        for module in oci_modules(&bundle) {
            let reference = pinned(&module, lock.as_ref())?;
            let pulled =
                rt.block_on(client.pull_policy(&reference, trust.as_ref(), !self.offline))?;
            report_verification(&pulled);
            if pulled.acceptance.is_none() {
                // Keep the signatures even when this site does not verify them.
                rt.block_on(client.evidence(&pulled.reference, &pulled.digest, !self.offline))?;
            }
            names.push(pulled.reference.to_string());
            for tag in [
                digest::cosign_signature_tag(&pulled.digest),
                digest::referrers_tag(&pulled.digest),
            ] {
                let name = pulled.reference.at_tag(&tag).to_string();
                if client.store().get_ref(&name)?.is_some() {
                    names.push(name);
                }
            }
        }
        if names.is_empty() {
            bail!("{}: no oci:// modules to save", self.bundle.display());
        }
        let blobs = gate_oci::layout::save(client.store(), &names, &self.output)?;
        println!(
            "wrote {} ({} manifests named, {blobs} blobs)",
            self.output.display(),
            names.len()
        );
        Ok(ExitCode::SUCCESS)
    }
}

impl LoadArgs {
    /// Checks and imports the tarball.
    pub fn run(self) -> Result<ExitCode> {
        let store = self.registry.store()?;
        let names = gate_oci::layout::load(&store, &self.tarball)?;
        for name in &names {
            println!("loaded {name}");
        }
        println!("{} manifests into {}", names.len(), store.root().display());
        Ok(ExitCode::SUCCESS)
    }
}
