//! Where the policies of a bundle come from: options shared by every command and
//! front door that loads a bundle.

use crate::loader::{BundleRef, LoadedBundle, load_bundle};
use crate::oci_resolver::resolver_for;
use crate::registry_args::RegistryArgs;
use anyhow::Result;
use clap::Args;
use gate_runtime::Runtime;
use std::path::PathBuf;

/// How a bundle's OCI modules are fetched and verified.
#[derive(Debug, Clone, Args)]
pub struct ModuleArgs {
    /// Use only the local OCI store: no registry is contacted.
    #[arg(long)]
    pub offline: bool,

    /// The trust policy for OCI modules [default: the bundle's spec.trust, or trustpolicy.json beside it].
    #[arg(long)]
    pub trust_policy: Option<PathBuf>,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl ModuleArgs {
    /// Loads a bundle: resolves (and for OCI modules pulls and verifies) every
    /// module, compiles, validates settings.
    pub fn load(&self, runtime: &Runtime, bundle: &BundleRef) -> Result<LoadedBundle> {
        let resolver = resolver_for(
            bundle,
            &self.registry,
            self.offline,
            self.trust_policy.as_deref(),
        )?;
        load_bundle(runtime, bundle, resolver.as_ref())
    }
}
