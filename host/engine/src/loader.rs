//! From a bundle reference to policies ready to run: resolve each module, check
//! its digest, compile (or load from cache), validate settings.

use crate::builtin;
use anyhow::{Context, Result, anyhow, bail};
use gate_core::bundle::{Bundle, Mode, ModuleRef, PolicyEntry};
use gate_core::report::{Notice, PolicyRun};
use gate_core::selector::KindSelector;
use gate_runtime::{BoundPolicy, CompiledPolicy, Limits, Runtime};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which bundle to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleRef {
    /// `builtin:NAME`: compiled into the binary.
    Builtin(String),
    /// A bundle file.
    File(PathBuf),
}

impl std::str::FromStr for BundleRef {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.strip_prefix("builtin:") {
            Some(name) => BundleRef::Builtin(name.to_owned()),
            None => BundleRef::File(PathBuf::from(s)),
        })
    }
}

impl std::fmt::Display for BundleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleRef::Builtin(name) => write!(f, "builtin:{name}"),
            BundleRef::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl BundleRef {
    /// Reads and parses the bundle; returns it with the directory its file paths
    /// are relative to.
    pub fn read(&self) -> Result<(Bundle, PathBuf)> {
        self.read_with_digest()
            .map(|(bundle, dir, _)| (bundle, dir))
    }

    /// [`BundleRef::read`], with the `sha256:` digest of the document's bytes.
    pub fn read_with_digest(&self) -> Result<(Bundle, PathBuf, String)> {
        match self {
            BundleRef::Builtin(name) => {
                let found = builtin::bundle(name).ok_or_else(|| {
                    let known: Vec<_> = builtin::BUNDLES.iter().map(|b| b.name).collect();
                    anyhow!(
                        "no built-in bundle {name:?}; built-in bundles: {}",
                        known.join(", ")
                    )
                })?;
                let bundle = Bundle::parse(Path::new(&format!("builtin:{name}")), found.yaml)?;
                let digest = gate_runtime::digest_of(found.yaml.as_bytes());
                Ok((bundle, PathBuf::from("."), digest))
            }
            BundleRef::File(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read bundle {}", path.display()))?;
                let bundle = Bundle::parse(path, &text)?;
                let dir = path
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_owned);
                Ok((bundle, dir, gate_runtime::digest_of(text.as_bytes())))
            }
        }
    }
}

/// The bytes of a policy component and where they came from.
pub struct ModuleBytes {
    /// The component.
    pub bytes: Cow<'static, [u8]>,
    /// Its `sha256:` digest, verified.
    pub digest: String,
    /// Warnings to show on every run (e.g. verification skipped).
    pub notices: Vec<String>,
}

/// Finds the bytes of a module. The OCI resolver (registry, trust policy) plugs in here.
pub trait ModuleResolver: Sync {
    /// Resolves a module; `expected_digest` comes from the bundle and must match.
    fn resolve(&self, module: &ModuleRef, expected_digest: Option<&str>) -> Result<ModuleBytes>;
}

/// Resolves built-in and file modules; refuses OCI references.
pub struct LocalResolver;

impl ModuleResolver for LocalResolver {
    fn resolve(&self, module: &ModuleRef, expected: Option<&str>) -> Result<ModuleBytes> {
        let (bytes, digest): (Cow<'static, [u8]>, String) = match module {
            ModuleRef::Builtin(name) => {
                let policy = builtin::policy(name).ok_or_else(|| {
                    let known: Vec<_> = builtin::POLICIES.iter().map(|p| p.name).collect();
                    anyhow!(
                        "no built-in policy {name:?}; built-in policies: {}",
                        known.join(", ")
                    )
                })?;
                // Computed when the bytes were embedded: they are part of this binary.
                (Cow::Borrowed(policy.wasm), policy.digest.to_owned())
            }
            ModuleRef::File(path) => {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let digest = gate_runtime::digest_of(&bytes);
                (Cow::Owned(bytes), digest)
            }
            ModuleRef::Oci(reference) => {
                bail!("{reference}: OCI modules need a registry resolver (gate policy pull)")
            }
        };
        check_digest(module, expected, &digest)?;
        Ok(ModuleBytes {
            bytes,
            digest,
            notices: Vec::new(),
        })
    }
}

/// Fails unless `actual` is the digest the bundle pinned.
pub fn check_digest(module: &ModuleRef, expected: Option<&str>, actual: &str) -> Result<()> {
    match expected {
        Some(expected) if expected != actual => {
            bail!("{module}: digest mismatch: the bundle pins {expected}, the module is {actual}")
        }
        _ => Ok(()),
    }
}

/// A bundle whose policies are compiled, configured and ready to run.
pub struct LoadedBundle {
    /// The bundle's name.
    pub name: String,
    /// The `sha256:` digest of the bundle document as read. The digests of the
    /// modules it ran are in [`LoadedBundle::runs`].
    pub digest: String,
    /// The policies, in bundle order.
    pub policies: Vec<BoundPolicy>,
    /// The policies judged at admission, in bundle order: those that judge one
    /// object alone. A policy that declares an inventory compares objects across
    /// a render, which an admission request does not carry.
    pub admission_policies: Vec<BoundPolicy>,
    /// The namespaces no policy of the bundle judges (`spec.excludedNamespaces`).
    pub excluded_namespaces: Vec<String>,
    /// Their descriptions for the report.
    pub runs: Vec<PolicyRun>,
    /// Warnings to show on every run.
    pub notices: Vec<Notice>,
}

impl LoadedBundle {
    /// Loads the code of every policy now, rather than on the first render that
    /// needs it. A long-lived front door (the webhook) calls it before serving a
    /// bundle: ready then means every policy can run, no request pays for a
    /// load, and a component that cannot load fails the bundle's load (the
    /// bundle served before stays) instead of every request that needs it.
    pub fn load_code(&self, runtime: &Runtime) -> Result<(), gate_runtime::Error> {
        self.policies
            .iter()
            .try_for_each(|bound| bound.policy.ensure_loaded(runtime))
    }

    /// The kinds some policy of the bundle reads, to judge them or to see them
    /// beside the objects it judges: what a loader that slims objects must keep
    /// whole for the policies (see [`LoadOptions::slim`](crate::sources::LoadOptions::slim)).
    pub fn read_kinds(&self) -> Vec<KindSelector> {
        let mut kinds: Vec<KindSelector> = Vec::new();
        for bound in &self.policies {
            let info = &bound.policy.info;
            for kind in info.targets.iter().chain(&info.inventory) {
                if !kinds.contains(kind) {
                    kinds.push(kind.clone());
                }
            }
        }
        kinds
    }

    /// Runs every policy in audit mode: violations become warnings and deny
    /// nothing. Errors still fail the run: audit relaxes the policies, not the gate.
    pub fn audit_only(&mut self) {
        for policy in &mut self.policies {
            policy.mode = Mode::Audit;
        }
        for run in &mut self.runs {
            run.mode = Mode::Audit;
        }
    }
}

/// Loads a bundle: resolve every module, compile each distinct component once (in
/// parallel, or from the cache), then validate each policy's settings.
pub fn load_bundle(
    runtime: &Runtime,
    bundle_ref: &BundleRef,
    resolver: &dyn ModuleResolver,
) -> Result<LoadedBundle> {
    let (bundle, base_dir, digest) = bundle_ref.read_with_digest()?;
    let bundle_limits = Limits::default().with_spec(bundle.spec.limits);

    let mut modules = Vec::with_capacity(bundle.spec.policies.len());
    let mut notices = Vec::new();
    for entry in &bundle.spec.policies {
        let module = entry.module_ref(&base_dir);
        let resolved = resolver
            .resolve(&module, entry.digest.as_deref())
            .with_context(|| format!("bundle {bundle_ref}: policy {}", entry.module))?;
        notices.extend(resolved.notices.iter().map(|message| Notice {
            message: message.clone(),
            policy: Some(entry.module.clone()),
            object: None,
            error: None,
        }));
        modules.push((module, resolved));
    }

    // Each distinct component is opened once, in parallel: from the cache's
    // records when it holds them (its code then loads on its first call), else
    // compiled or loaded and asked to describe itself.
    let mut distinct: BTreeMap<String, (String, Cow<'static, [u8]>)> = BTreeMap::new();
    for (module, resolved) in &mut modules {
        if !distinct.contains_key(&resolved.digest) {
            let bytes = std::mem::take(&mut resolved.bytes);
            distinct.insert(resolved.digest.clone(), (module.to_string(), bytes));
        }
    }
    let compiled: BTreeMap<String, Arc<CompiledPolicy>> = distinct
        .into_par_iter()
        .map(|(digest, (source, bytes))| {
            let policy =
                CompiledPolicy::open(runtime, &source, bytes, Some(&digest), &bundle_limits)?;
            Ok((digest, Arc::new(policy)))
        })
        .collect::<Result<_, gate_runtime::Error>>()?;

    let bound: Vec<(BoundPolicy, PolicyRun)> = bundle
        .spec
        .policies
        .par_iter()
        .zip(&modules)
        .map(|(entry, (module, resolved))| {
            let policy = compiled[&resolved.digest].clone();
            bind(runtime, &bundle, entry, module, policy, bundle_limits)
        })
        .collect::<Result<_>>()?;

    let mut names = std::collections::HashSet::new();
    for (policy, _) in &bound {
        if !names.insert(policy.name.clone()) {
            bail!(
                "bundle {bundle_ref}: two policies are named {:?}; set `name:` on one of them",
                policy.name
            );
        }
    }
    let (policies, runs): (Vec<BoundPolicy>, _) = bound.into_iter().unzip();
    let admission_policies = policies
        .iter()
        .filter(|p| p.policy.info.inventory.is_empty())
        .cloned()
        .collect();
    Ok(LoadedBundle {
        name: bundle.metadata.name,
        digest,
        policies,
        admission_policies,
        excluded_namespaces: bundle.spec.excluded_namespaces,
        runs,
        notices,
    })
}

fn bind(
    runtime: &Runtime,
    bundle: &Bundle,
    entry: &PolicyEntry,
    module: &ModuleRef,
    policy: Arc<CompiledPolicy>,
    bundle_limits: Limits,
) -> Result<(BoundPolicy, PolicyRun)> {
    let settings = serde_json::to_string(&entry.settings)?;
    let limits = entry
        .limits
        .map_or(bundle_limits, |l| bundle_limits.with_spec(l));
    policy.validate_settings(runtime, &limits, &settings)?;
    let name = entry
        .name
        .clone()
        .unwrap_or_else(|| policy.info.name.clone());
    let mut excluded = bundle.spec.excluded_namespaces.clone();
    excluded.extend(entry.excluded_namespaces.iter().cloned());
    let run = PolicyRun {
        name: name.clone(),
        mode: entry.mode,
        failure_policy: entry.failure_policy,
        evaluations: 0,
        module: module.to_string(),
        digest: policy.digest.clone(),
        info: policy.info.clone(),
        settings_digest: gate_runtime::digest_of(settings.as_bytes()),
        exceptions: entry.exceptions.clone(),
    };
    let bound = BoundPolicy {
        name,
        policy,
        settings,
        mode: entry.mode,
        excluded_namespaces: excluded,
        namespaces: entry.namespaces.clone(),
        exceptions: entry.exceptions.clone(),
        limits,
    };
    Ok((bound, run))
}
