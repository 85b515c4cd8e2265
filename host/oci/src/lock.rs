//! Bundle lock files: every OCI module of a bundle, pinned to a manifest digest.
//!
//! ```yaml
//! apiVersion: gate.dev/v1alpha1
//! kind: BundleLock
//! policies:
//!   - module: oci://myacr.azurecr.io/policies/no-latest:1.2.0
//!     reference: myacr.azurecr.io/policies/no-latest@sha256:...
//!     component: sha256:...        # the wasm layer
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A lock file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LockFile {
    /// `gate.dev/v1alpha1`.
    pub api_version: String,
    /// `BundleLock`.
    pub kind: String,
    /// One entry per OCI module.
    pub policies: Vec<LockedPolicy>,
}

/// One pinned module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LockedPolicy {
    /// The module as the bundle writes it.
    pub module: String,
    /// `REGISTRY/REPOSITORY@sha256:...`.
    pub reference: String,
    /// The component's digest.
    pub component: String,
}

impl LockFile {
    /// A lock file of these entries.
    pub fn new(policies: Vec<LockedPolicy>) -> LockFile {
        LockFile {
            api_version: gate_core::bundle::API_VERSION.to_owned(),
            kind: "BundleLock".to_owned(),
            policies,
        }
    }

    /// `bundle.yaml` → `bundle.lock.yaml`.
    pub fn path_for(bundle: &Path) -> PathBuf {
        let stem = bundle
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        bundle.with_file_name(format!("{stem}.lock.yaml"))
    }

    /// Reads a lock file, if there is one.
    pub fn read(path: &Path) -> Result<Option<LockFile>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path)(e)),
        };
        let lock: LockFile = serde_yaml_ng::from_str(&text).map_err(|e| Error::Layout {
            path: path.to_owned(),
            message: format!("not a bundle lock file: {e}"),
        })?;
        if lock.kind != "BundleLock" {
            return Err(Error::Layout {
                path: path.to_owned(),
                message: format!("kind is {:?}, expected BundleLock", lock.kind),
            });
        }
        Ok(Some(lock))
    }

    /// Writes the lock file.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_yaml_ng::to_string(self).unwrap_or_default();
        crate::store::write_atomic(
            path,
            format!("# Written by `gate bundle lock`. Do not edit.\n{text}").as_bytes(),
        )
    }

    /// The pin of a module, if locked.
    pub fn pin(&self, module: &str) -> Option<&LockedPolicy> {
        self.policies.iter().find(|p| p.module == module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_round_trip_beside_the_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let path = LockFile::path_for(&dir.path().join("b.yaml"));
        assert!(path.ends_with("b.lock.yaml"));
        let lock = LockFile::new(vec![LockedPolicy {
            module: "oci://r.io/p:1".into(),
            reference: "r.io/p@sha256:00".into(),
            component: "sha256:11".into(),
        }]);
        lock.write(&path).unwrap();
        let read = LockFile::read(&path).unwrap().unwrap();
        assert_eq!(read.pin("oci://r.io/p:1"), lock.policies.first());
        assert!(
            LockFile::read(&dir.path().join("none.yaml"))
                .unwrap()
                .is_none()
        );
    }
}
