//! Loaded bundles, kept between reconciliations: compiling a bundle's policies
//! takes time, judging with them does not. A bundle is reloaded when the
//! digest of its document changes.

use crate::error::{Error, Result};
use gate_engine::loader::{BundleRef, LoadedBundle, load_bundle};
use gate_engine::oci_resolver::resolver_for;
use gate_engine::registry_args::RegistryArgs;
use gate_runtime::Runtime;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Loads bundles through the engine and keeps them.
pub struct BundleCache {
    runtime: Arc<Runtime>,
    registry: RegistryArgs,
    offline: bool,
    loaded: Mutex<HashMap<String, (String, Arc<LoadedBundle>)>>,
}

impl BundleCache {
    /// A cache that loads with `runtime`, resolving OCI modules through `registry`.
    pub fn new(runtime: Arc<Runtime>, registry: RegistryArgs, offline: bool) -> BundleCache {
        BundleCache {
            runtime,
            registry,
            offline,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// The runtime bundles are loaded into.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The loaded bundle. Blocking: it may compile policies or pull them.
    pub fn get(&self, reference: &BundleRef) -> Result<Arc<LoadedBundle>> {
        let key = reference.to_string();
        let failed = |e: anyhow::Error| Error::Bundle {
            bundle: key.clone(),
            message: format!("{e:#}"),
        };
        let (_, _, digest) = reference.read_with_digest().map_err(failed)?;
        let mut loaded = self
            .loaded
            .lock()
            .map_err(|_| Error::Task("the bundle cache lock is poisoned".into()))?;
        if let Some((cached, bundle)) = loaded.get(&key)
            && *cached == digest
        {
            return Ok(bundle.clone());
        }
        let resolver =
            resolver_for(reference, &self.registry, self.offline, None).map_err(failed)?;
        let bundle =
            Arc::new(load_bundle(&self.runtime, reference, resolver.as_ref()).map_err(failed)?);
        loaded.insert(key, (bundle.digest.clone(), bundle.clone()));
        Ok(bundle)
    }
}
