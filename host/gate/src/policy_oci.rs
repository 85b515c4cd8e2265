//! `gate policy push|pull|inspect`: policies in OCI registries.

use anyhow::{Context, Result};
use clap::Args;
use gate_engine::RuntimeArgs;
use gate_engine::registry_args::{RegistryArgs, async_runtime, registries_of};
use gate_oci::manifest::{PolicyArtifact, annotations};
use gate_oci::verify::{self, cosign};
use gate_oci::{ArtifactRef, TrustPolicy};
use gate_runtime::{CompiledPolicy, Limits};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Publish a policy component to a registry.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// A `.wasm` component, or a policy crate directory (its built component is pushed).
    pub source: PathBuf,

    /// Where to push: `REGISTRY/REPOSITORY:TAG`.
    pub reference: ArtifactRef,

    /// Sign the pushed manifest (cosign's legacy format: the `sha256-<hex>.sig` tag).
    #[arg(long, requires = "key")]
    pub sign: bool,

    /// The signing key: PEM ECDSA P-256 private key (PKCS#8 or SEC1, unencrypted).
    #[arg(long, env = "GATE_SIGNING_KEY")]
    pub key: Option<PathBuf>,

    /// `org.opencontainers.image.source`: the policy's source repository URL.
    #[arg(long)]
    pub source_url: Option<String>,

    /// `org.opencontainers.image.licenses` [default: the crate's `license`].
    #[arg(long)]
    pub licenses: Option<String>,

    /// More manifest annotations, `KEY=VALUE`.
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Runtime options.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// Fetch a policy by tag or digest, check it, and (with a trust policy) verify it.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// `REGISTRY/REPOSITORY:TAG` or `REGISTRY/REPOSITORY@sha256:...`.
    pub reference: ArtifactRef,

    /// Write the component here.
    #[arg(long, short)]
    pub output: Option<PathBuf>,

    /// Verify against this trust policy (refuse if it is not satisfied).
    #[arg(long)]
    pub trust_policy: Option<PathBuf>,

    /// Read only the local store.
    #[arg(long)]
    pub offline: bool,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Show a policy artifact: digests, annotations, self-description, signatures.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// `REGISTRY/REPOSITORY:TAG` or `REGISTRY/REPOSITORY@sha256:...`.
    pub reference: ArtifactRef,

    /// Also verify against this trust policy.
    #[arg(long)]
    pub trust_policy: Option<PathBuf>,

    /// Read only the local store.
    #[arg(long)]
    pub offline: bool,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl PushArgs {
    /// Pushes (and signs).
    pub fn run(self) -> Result<ExitCode> {
        let (label, wasm) = crate::policy::component_for(&self.source, None)?;
        let runtime = self.runtime.runtime()?;
        let policy = CompiledPolicy::load(&runtime, &label, &wasm, None, &Limits::default())
            .with_context(|| format!("{label} is not a gate policy component"))?;
        let info = &policy.info;
        let mut notes = BTreeMap::new();
        notes.insert(annotations::TITLE.to_owned(), info.name.clone());
        notes.insert(annotations::VERSION.to_owned(), info.version.clone());
        let description = if info.description.is_empty() {
            &info.title
        } else {
            &info.description
        };
        notes.insert(annotations::DESCRIPTION.to_owned(), description.clone());
        if let Some(url) = &self.source_url {
            notes.insert(annotations::SOURCE.to_owned(), url.clone());
        }
        let licenses = self.licenses.clone().or_else(|| {
            self.source
                .is_dir()
                .then(|| crate::policy_new::license_of(&self.source))
                .flatten()
        });
        if let Some(licenses) = licenses {
            notes.insert(annotations::LICENSES.to_owned(), licenses);
        }
        for pair in &self.annotations {
            let (key, value) = pair
                .split_once('=')
                .with_context(|| format!("--annotation {pair:?}: expected KEY=VALUE"))?;
            notes.insert(key.to_owned(), value.to_owned());
        }
        let config = serde_json::json!({ "policy": info });
        let artifact = PolicyArtifact::build(wasm, &config, notes);
        let key = match (&self.sign, &self.key) {
            (true, Some(path)) => Some(cosign::read_signing_key(path)?),
            _ => None,
        };
        let client = self
            .registry
            .client(false, &registries_of([&self.reference]))?;
        let rt = async_runtime()?;
        let digest = rt.block_on(client.push_policy(&self.reference, &artifact))?;
        let pinned = self.reference.at_digest(&digest);
        println!("pushed {}", self.reference);
        println!("digest {digest}");
        println!("component {}", artifact.component_digest());
        println!("pin oci://{pinned}");
        if let Some(key) = key {
            let sig = rt.block_on(client.sign_cosign(&self.reference, &digest, &key))?;
            println!("signed {sig}");
        }
        Ok(ExitCode::SUCCESS)
    }
}

impl PullArgs {
    /// Pulls (and verifies).
    pub fn run(self) -> Result<ExitCode> {
        let trust = self
            .trust_policy
            .as_deref()
            .map(TrustPolicy::from_file)
            .transpose()?;
        let client = self
            .registry
            .client(self.offline, &registries_of([&self.reference]))?;
        let pulled = async_runtime()?.block_on(client.pull_policy(
            &self.reference,
            trust.as_ref(),
            !self.offline,
        ))?;
        for notice in &pulled.notices {
            eprintln!("warning: {notice}");
        }
        match &pulled.acceptance {
            Some(acceptance) => {
                for line in &acceptance.trusted_by {
                    println!("verified: {line}");
                }
            }
            None if trust.is_none() => {
                eprintln!("note: not verified (no --trust-policy); digests were checked")
            }
            None => {}
        }
        println!("pulled {}", pulled.reference);
        println!(
            "component {}",
            gate_oci::digest::sha256(&pulled.artifact.wasm)
        );
        if let Some(path) = &self.output {
            std::fs::write(path, &pulled.artifact.wasm)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {}", path.display());
        }
        Ok(ExitCode::SUCCESS)
    }
}

impl InspectArgs {
    /// Prints a JSON description of the artifact.
    pub fn run(self) -> Result<ExitCode> {
        let trust = self
            .trust_policy
            .as_deref()
            .map(TrustPolicy::from_file)
            .transpose()?;
        let client = self
            .registry
            .client(self.offline, &registries_of([&self.reference]))?;
        let rt = async_runtime()?;
        let pulled = rt.block_on(client.pull_policy(&self.reference, None, !self.offline))?;
        let evidence =
            rt.block_on(client.evidence(&pulled.reference, &pulled.digest, !self.offline))?;
        let verification = trust.as_ref().map(|trust| {
            match verify::decide(trust, &pulled.reference, &pulled.digest, &evidence, chrono::Utc::now()) {
                Ok(acceptance) => serde_json::json!({"accepted": true, "trustedBy": acceptance.trusted_by, "notices": acceptance.notices}),
                Err(e) => serde_json::json!({"accepted": false, "reason": e.to_string()}),
            }
        });
        let manifest = &pulled.artifact.manifest;
        let config: serde_json::Value =
            serde_json::from_slice(&pulled.artifact.config).unwrap_or(serde_json::Value::Null);
        let out = serde_json::json!({
            "reference": pulled.reference.to_string(),
            "digest": pulled.digest,
            "mediaType": manifest.media_type,
            "config": {"mediaType": manifest.config.media_type, "digest": manifest.config.digest, "size": manifest.config.size},
            "layers": manifest.layers,
            "annotations": manifest.annotations,
            "policy": config.get("policy"),
            "signatures": {
                "cosign": evidence.cosign.len(),
                "sigstoreBundles": evidence.bundles.len(),
                "notation": evidence.notation.len(),
                "unsupported": evidence.unsupported,
            },
            "verification": verification,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        Ok(ExitCode::SUCCESS)
    }
}
