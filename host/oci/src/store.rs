//! The local content-addressed store: an OCI image layout directory.
//!
//! `blobs/sha256/<hex>` holds every manifest, config, component and signature
//! gate has pulled; `index.json` names manifests by full reference
//! (`REGISTRY/REPO:TAG` or `REGISTRY/REPO@DIGEST`) in the
//! `org.opencontainers.image.ref.name` annotation. Every read re-checks the
//! digest; a corrupted blob is dropped and pulled again.

use crate::digest;
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, Index, annotations::REF_NAME};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The local store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// `$GATE_OCI_STORE`, else `$XDG_CACHE_HOME/gate/oci`, else `~/.cache/gate/oci`.
    pub fn default_root() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("GATE_OCI_STORE") {
            return Some(PathBuf::from(dir));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("gate").join("oci"))
    }

    /// Opens (creating if needed) a store.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let root = root.into();
        let blobs = root.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(Error::io(&blobs))?;
        let layout = root.join("oci-layout");
        if !layout.exists() {
            write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        Ok(Store { root })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        self.root
            .join("blobs")
            .join("sha256")
            .join(digest::hex_part(digest))
    }

    /// A blob, if the store has it intact. A blob whose content no longer matches
    /// its digest is removed and reported missing.
    pub fn read_blob(&self, digest: &str) -> Result<Option<Vec<u8>>> {
        if !digest::is_sha256(digest) {
            return Ok(None);
        }
        let path = self.blob_path(digest);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path)(e)),
        };
        if digest::sha256(&bytes) != digest {
            tracing::warn!("store blob {digest} is corrupted; dropping it");
            let _ = std::fs::remove_file(&path);
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// Stores a blob that must have this digest.
    pub fn write_blob(&self, expected: &str, bytes: &[u8]) -> Result<()> {
        let actual = digest::sha256(bytes);
        if actual != expected {
            return Err(Error::DigestMismatch {
                reference: self.root.display().to_string(),
                what: "blob".into(),
                expected: expected.to_owned(),
                actual,
            });
        }
        let path = self.blob_path(expected);
        if path.exists() {
            return Ok(());
        }
        write_atomic(&path, bytes)
    }

    /// Stores a blob and returns its digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String> {
        let digest = digest::sha256(bytes);
        self.write_blob(&digest, bytes)?;
        Ok(digest)
    }

    /// The index of named manifests.
    pub fn index(&self) -> Result<Index> {
        let path = self.root.join("index.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Layout {
                path: path.clone(),
                message: format!("index.json: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::new()),
            Err(e) => Err(Error::io(&path)(e)),
        }
    }

    /// Names a manifest (replacing any previous manifest of that name).
    pub fn set_ref(&self, name: &str, descriptor: &Descriptor) -> Result<()> {
        let mut index = self.index()?;
        index
            .manifests
            .retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(name));
        let mut entry = descriptor.clone();
        entry
            .annotations
            .insert(REF_NAME.to_owned(), name.to_owned());
        index.manifests.push(entry);
        index.manifests.sort_by(|a, b| {
            a.annotations
                .get(REF_NAME)
                .cmp(&b.annotations.get(REF_NAME))
        });
        let bytes = serde_json::to_vec_pretty(&index).unwrap_or_default();
        write_atomic(&self.root.join("index.json"), &bytes)
    }

    /// The manifest of a name, if any.
    pub fn get_ref(&self, name: &str) -> Result<Option<Descriptor>> {
        Ok(self
            .index()?
            .manifests
            .into_iter()
            .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(name)))
    }
}

/// Writes a file through a temporary file and a rename, so readers never see half of it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(Error::io(dir))?;
    tmp.write_all(bytes).map_err(Error::io(path))?;
    tmp.persist(path).map_err(|e| Error::io(path)(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::OCI_MANIFEST;

    #[test]
    fn blobs_round_trip_and_corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let digest = store.put_blob(b"hello").unwrap();
        assert_eq!(
            store.read_blob(&digest).unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        std::fs::write(store.blob_path(&digest), b"hellO").unwrap();
        assert_eq!(
            store.read_blob(&digest).unwrap(),
            None,
            "a corrupted blob must not be served"
        );
    }

    #[test]
    fn refuses_to_store_a_blob_under_the_wrong_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let wrong = digest::sha256(b"other");
        assert!(matches!(
            store.write_blob(&wrong, b"hello"),
            Err(Error::DigestMismatch { .. })
        ));
    }

    #[test]
    fn refs_name_manifests_and_replace_older_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = Descriptor::of(OCI_MANIFEST, b"a");
        let b = Descriptor::of(OCI_MANIFEST, b"b");
        store.set_ref("r/x:1", &a).unwrap();
        store.set_ref("r/x:1", &b).unwrap();
        assert_eq!(store.get_ref("r/x:1").unwrap().unwrap().digest, b.digest);
        assert_eq!(store.index().unwrap().manifests.len(), 1);
    }
}
