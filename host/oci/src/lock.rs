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
use crate::reference::ArtifactRef;
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
    /// The file it was read from, for messages.
    #[serde(skip)]
    pub path: Option<PathBuf>,
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
            path: None,
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
        let mut lock: LockFile = serde_yaml_ng::from_str(&text).map_err(|e| Error::Layout {
            path: path.to_owned(),
            message: format!("not a bundle lock file: {e}"),
        })?;
        if lock.kind != "BundleLock" {
            return Err(Error::Layout {
                path: path.to_owned(),
                message: format!("kind is {:?}, expected BundleLock", lock.kind),
            });
        }
        lock.path = Some(path.to_owned());
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

    /// The reference a module is pinned to, if locked. A pin must be a digest in the
    /// module's own registry and repository: a lock file cannot swap the module for
    /// another one, however well signed.
    pub fn pinned(&self, module: &str) -> Result<Option<ArtifactRef>> {
        let Some(pin) = self.pin(module) else {
            return Ok(None);
        };
        let wanted = ArtifactRef::parse(module)?;
        let refuse = |why: String| Error::Reference {
            reference: module.to_owned(),
            message: format!(
                "the lock file{} pins it to {:?}, {why}; run `gate bundle lock` again",
                self.path
                    .as_ref()
                    .map(|p| format!(" {}", p.display()))
                    .unwrap_or_default(),
                pin.reference
            ),
        };
        let pinned = ArtifactRef::parse(&pin.reference)
            .map_err(|e| refuse(format!("which is not a reference ({e})")))?;
        if pinned.digest.is_none() {
            return Err(refuse("which is not pinned to a digest".into()));
        }
        if (pinned.registry.as_str(), pinned.repository.as_str())
            != (wanted.registry.as_str(), wanted.repository.as_str())
        {
            return Err(refuse(format!(
                "which is not in the module's repository {}",
                wanted.repository_path()
            )));
        }
        Ok(Some(pinned))
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

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn lock_of(module: &str, reference: &str) -> LockFile {
        let mut lock = LockFile::new(vec![LockedPolicy {
            module: module.into(),
            reference: reference.into(),
            component: D.into(),
        }]);
        lock.path = Some("b.lock.yaml".into());
        lock
    }

    #[test]
    fn a_pin_is_a_digest_in_the_modules_own_repository() {
        let module = "oci://r.io/policies/a:1";
        let good = lock_of(module, &format!("r.io/policies/a@{D}"));
        assert_eq!(
            good.pinned(module).unwrap().unwrap().to_string(),
            format!("r.io/policies/a@{D}")
        );
        assert!(
            good.pinned("oci://r.io/policies/other:1")
                .unwrap()
                .is_none()
        );
        for (bad, why) in [
            (
                format!("evil.io/policies/a@{D}"),
                "not in the module's repository r.io/policies/a",
            ),
            (
                format!("r.io/policies/b@{D}"),
                "not in the module's repository",
            ),
            (
                format!("r.io/policies/a/b@{D}"),
                "not in the module's repository",
            ),
            ("r.io/policies/a:1".to_owned(), "not pinned to a digest"),
            ("r.io/policies/a:1@sha256:00".to_owned(), "not a reference"),
        ] {
            let err = lock_of(module, &bad)
                .pinned(module)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(module) && err.contains("b.lock.yaml") && err.contains(why),
                "{bad}: {err}"
            );
        }
    }
}
