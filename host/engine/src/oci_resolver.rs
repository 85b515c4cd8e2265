//! The resolver of `oci://` modules: pull by digest through the local store,
//! verify against the bundle's trust policy, refuse before any code runs.

use crate::loader::{BundleRef, LocalResolver, ModuleBytes, ModuleResolver, check_digest};
use crate::registry_args::{RegistryArgs, async_runtime, registries_of};
use anyhow::{Context, Result, bail};
use gate_core::bundle::{Bundle, ModuleRef};
use gate_oci::lock::LockFile;
use gate_oci::verify::trust::TrustPolicyDocument;
use gate_oci::{ArtifactRef, Client, TrustPolicy};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

/// File names of a trust policy kept beside the bundle, in the order they are looked for.
pub const TRUST_POLICY_FILES: [&str; 3] =
    ["trustpolicy.json", "trustpolicy.yaml", "trust-policy.yaml"];

/// Resolves OCI modules; delegates the others to [`LocalResolver`].
pub struct OciResolver {
    runtime: tokio::runtime::Runtime,
    client: Client,
    trust: Option<TrustPolicy>,
    lock: Option<LockFile>,
    online: bool,
}

/// The resolver a bundle needs: [`LocalResolver`] unless it has OCI modules.
pub fn resolver_for(
    bundle_ref: &BundleRef,
    registry: &RegistryArgs,
    offline: bool,
    trust_policy: Option<&Path>,
) -> Result<Box<dyn ModuleResolver>> {
    let (bundle, base_dir) = bundle_ref.read()?;
    if !bundle
        .spec
        .policies
        .iter()
        .any(|p| p.module.starts_with("oci://"))
    {
        return Ok(Box::new(LocalResolver));
    }
    Ok(Box::new(OciResolver::new(
        bundle_ref,
        &bundle,
        &base_dir,
        registry,
        offline,
        trust_policy,
    )?))
}

/// The trust policy of a bundle: `--trust-policy`, else `spec.trust`, else a file beside it.
pub fn trust_policy_for(
    bundle_ref: &BundleRef,
    bundle: &Bundle,
    base_dir: &Path,
    explicit: Option<&Path>,
) -> Result<Option<TrustPolicy>> {
    if let Some(path) = explicit {
        return Ok(Some(TrustPolicy::from_file(path)?));
    }
    if let Some(value) = &bundle.spec.trust {
        let document: TrustPolicyDocument = serde_json::from_value(value.clone())
            .with_context(|| format!("bundle {bundle_ref}: spec.trust is not a trust policy"))?;
        return Ok(Some(TrustPolicy::new(
            document,
            base_dir,
            &format!("bundle {bundle_ref} spec.trust"),
        )?));
    }
    for name in TRUST_POLICY_FILES {
        let path = base_dir.join(name);
        if path.is_file() {
            return Ok(Some(TrustPolicy::from_file(&path)?));
        }
    }
    Ok(None)
}

/// The lock file beside a bundle file, if any.
pub fn lock_for(bundle_ref: &BundleRef) -> Result<Option<LockFile>> {
    match bundle_ref {
        BundleRef::File(path) => Ok(LockFile::read(&LockFile::path_for(path))?),
        BundleRef::Builtin(_) => Ok(None),
    }
}

/// The pinned reference of an OCI module: its own `@sha256:`, else the lock file's
/// (which must be a digest in the module's own repository).
pub fn pinned(module: &str, lock: Option<&LockFile>) -> Result<ArtifactRef> {
    let reference = ArtifactRef::parse(module)?;
    if reference.digest.is_some() {
        return Ok(reference);
    }
    match lock.map(|l| l.pinned(module)).transpose()?.flatten() {
        Some(pinned) => Ok(pinned),
        None => bail!(
            "{module} is not pinned to a digest: write it as REGISTRY/REPO@sha256:... or run `gate bundle lock`"
        ),
    }
}

/// The registries a bundle's OCI modules are in (where basic credentials may go).
pub fn registries_of_bundle(bundle: &Bundle) -> Result<BTreeSet<String>> {
    let references = oci_modules(bundle)
        .iter()
        .map(|module| ArtifactRef::parse(module))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(registries_of(&references))
}

/// The `oci://` modules of a bundle, as written.
pub fn oci_modules(bundle: &Bundle) -> Vec<String> {
    bundle
        .spec
        .policies
        .iter()
        .filter(|p| p.module.starts_with("oci://"))
        .map(|p| p.module.clone())
        .collect()
}

impl OciResolver {
    /// A resolver for one bundle.
    pub fn new(
        bundle_ref: &BundleRef,
        bundle: &Bundle,
        base_dir: &Path,
        registry: &RegistryArgs,
        offline: bool,
        trust_policy: Option<&Path>,
    ) -> Result<OciResolver> {
        Ok(OciResolver {
            runtime: async_runtime()?,
            client: registry.client(offline, &registries_of_bundle(bundle)?)?,
            trust: trust_policy_for(bundle_ref, bundle, base_dir, trust_policy)?,
            lock: lock_for(bundle_ref)?,
            online: !offline,
        })
    }
}

impl ModuleResolver for OciResolver {
    fn resolve(&self, module: &ModuleRef, expected: Option<&str>) -> Result<ModuleBytes> {
        let ModuleRef::Oci(reference) = module else {
            return LocalResolver.resolve(module, expected);
        };
        let written = format!("oci://{reference}");
        let pinned = pinned(&written, self.lock.as_ref())?;
        let Some(trust) = &self.trust else {
            bail!(
                "{pinned}: refused: no trust policy (spec.trust in the bundle, --trust-policy, or {} beside it); \
                 OCI policies run only when a trust policy covers them (`level: skip` must be explicit)",
                TRUST_POLICY_FILES.join(" or ")
            );
        };
        let pulled =
            self.runtime
                .block_on(self.client.pull_policy(&pinned, Some(trust), self.online))?;
        let digest = gate_runtime::digest_of(&pulled.artifact.wasm);
        check_digest(module, expected, &digest)?;
        if let Some(pin) = self.lock.as_ref().and_then(|l| l.pin(&written))
            && pin.component != digest
        {
            bail!(
                "{pinned}: the lock file pins component {}, the registry served {digest}",
                pin.component
            );
        }
        Ok(ModuleBytes {
            bytes: Cow::Owned(pulled.artifact.wasm),
            digest,
            notices: pulled.notices,
        })
    }
}
