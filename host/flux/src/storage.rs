//! Approved artifacts on disk, as source-controller keeps its own: one directory
//! per object (`gate/<namespace>/<name>/`), one content-addressed file per
//! approved render (`<sha256>.tar.gz`), the last N kept, the rest removed. The
//! evaluation records of judged revisions sit beside them (`<sha256>.intoto.json`,
//! the digest of the record's bytes), kept the same way.

use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use crate::pack::Packed;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The first segment of every artifact path (source-controller uses the lowercase kind).
pub const KIND_DIR: &str = "gate";
/// The file suffix of artifacts.
pub const ARTIFACT_SUFFIX: &str = ".tar.gz";
/// The file suffix of evaluation records.
pub const RECORD_SUFFIX: &str = ".intoto.json";

/// Where approved artifacts live and how they are addressed.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    base_url: String,
    retention: usize,
}

/// An artifact written to storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its path relative to the storage root (`status.artifact.path`).
    pub path: String,
    /// Its URL (`status.artifact.url`).
    pub url: String,
    /// Its digest: the sha256 of the bytes served.
    pub digest: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
}

impl Storage {
    /// Storage under `root`, served at `base_url` (e.g.
    /// `http://gate-flux.flux-system.svc.cluster.local.`), keeping `retention`
    /// artifacts per object (at least one: the one published).
    pub fn new(root: PathBuf, base_url: &str, retention: usize) -> Result<Storage> {
        std::fs::create_dir_all(&root).map_err(Error::io("create", &root))?;
        Ok(Storage {
            root,
            base_url: base_url.trim_end_matches('/').to_owned(),
            retention: retention.max(1),
        })
    }

    /// The storage root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The relative path of an object's artifact with this digest.
    pub fn artifact_path(namespace: &str, name: &str, digest: &Sha256Digest) -> Result<String> {
        Storage::file_path(namespace, name, digest, ARTIFACT_SUFFIX)
    }

    /// The relative path of an object's record with this digest.
    pub fn record_path(namespace: &str, name: &str, digest: &Sha256Digest) -> Result<String> {
        Storage::file_path(namespace, name, digest, RECORD_SUFFIX)
    }

    fn file_path(
        namespace: &str,
        name: &str,
        digest: &Sha256Digest,
        suffix: &str,
    ) -> Result<String> {
        for segment in [namespace, name] {
            if !is_safe_segment(segment) {
                return Err(Error::Shape {
                    object: format!("{namespace}/{name}"),
                    message: "namespace and name must be DNS names".into(),
                });
            }
        }
        Ok(format!(
            "{KIND_DIR}/{namespace}/{name}/{}{suffix}",
            digest.hex()
        ))
    }

    /// Writes an artifact (atomically: readers see the whole file or none), marks
    /// it the newest, and removes the object's artifacts beyond the retention.
    pub fn store(&self, namespace: &str, name: &str, packed: &Packed) -> Result<Stored> {
        let path = Storage::artifact_path(namespace, name, &packed.digest)?;
        self.write(path, &packed.bytes, packed.digest, ARTIFACT_SUFFIX, &[])
    }

    /// Writes an evaluation record beside the object's artifacts, as [`Storage::store`]
    /// does an artifact. The records in `keep` (the published artifact's) are
    /// never removed, whatever their age.
    pub fn store_record(
        &self,
        namespace: &str,
        name: &str,
        bytes: &[u8],
        keep: &[Sha256Digest],
    ) -> Result<Stored> {
        let digest = Sha256Digest::of(bytes);
        let path = Storage::record_path(namespace, name, &digest)?;
        let kept: Vec<PathBuf> = keep
            .iter()
            .filter_map(|d| Storage::record_path(namespace, name, d).ok())
            .map(|p| self.root.join(p))
            .collect();
        self.write(path, bytes, digest, RECORD_SUFFIX, &kept)
    }

    fn write(
        &self,
        path: String,
        bytes: &[u8],
        digest: Sha256Digest,
        suffix: &str,
        keep: &[PathBuf],
    ) -> Result<Stored> {
        let file = self.root.join(&path);
        let dir = file.parent().unwrap_or(&self.root).to_owned();
        std::fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
        if !file.is_file() {
            let mut temp = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(&dir)
                .map_err(Error::io("create a file in", &dir))?;
            temp.write_all(bytes)
                .and_then(|()| temp.as_file().sync_all())
                .map_err(Error::io("write", temp.path()))?;
            temp.persist(&file)
                .map_err(|e| Error::io("store", &file)(e.error))?;
        }
        // The same render approved again is the newest again.
        std::fs::File::options()
            .append(true)
            .open(&file)
            .and_then(|f| f.set_modified(SystemTime::now()))
            .map_err(Error::io("touch", &file))?;
        self.collect_garbage(&dir, &file, suffix, keep)?;
        Ok(Stored {
            url: format!("{}/{path}", self.base_url),
            path,
            digest,
            size: bytes.len() as u64,
        })
    }

    /// True if the artifact at this relative path is in storage.
    pub fn contains(&self, path: &str) -> bool {
        self.resolve(path).is_some()
    }

    /// The file for a relative artifact path, if it is one gate stores and it exists.
    pub fn resolve(&self, path: &str) -> Option<PathBuf> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let [kind, namespace, name, file] = segments[..] else {
            return None;
        };
        let hex = file
            .strip_suffix(ARTIFACT_SUFFIX)
            .or_else(|| file.strip_suffix(RECORD_SUFFIX))?;
        let valid = kind == KIND_DIR
            && is_safe_segment(namespace)
            && is_safe_segment(name)
            && hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let file = self.root.join(kind).join(namespace).join(name).join(file);
        (valid && file.is_file()).then_some(file)
    }

    /// Removes every stored artifact of an object (it no longer exists).
    pub fn remove_object(&self, namespace: &str, name: &str) -> Result<()> {
        if !is_safe_segment(namespace) || !is_safe_segment(name) {
            return Ok(());
        }
        let dir = self.root.join(KIND_DIR).join(namespace).join(name);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", &dir)(e)),
            _ => Ok(()),
        }
    }

    /// The objects that have a storage directory, as (namespace, name).
    pub fn objects(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let names = |dir: &Path| -> Vec<String> {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        };
        for namespace in names(&self.root.join(KIND_DIR)) {
            for name in names(&self.root.join(KIND_DIR).join(&namespace)) {
                found.push((namespace.clone(), name));
            }
        }
        found
    }

    /// Keeps the newest `retention` files of a directory with this suffix, and
    /// always `current` and those in `keep`.
    fn collect_garbage(
        &self,
        dir: &Path,
        current: &Path,
        suffix: &str,
        keep: &[PathBuf],
    ) -> Result<()> {
        let mut artifacts: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(dir)
            .map_err(Error::io("list", dir))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(suffix) && p.is_file())
            .map(|p| {
                let modified = p
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                (modified, p)
            })
            .collect();
        artifacts.sort_by(|a, b| b.cmp(a));
        // Newest first; `current` is always kept and counts as one.
        let mut kept = 1;
        for (_, path) in artifacts {
            if path == current || keep.contains(&path) {
                continue;
            }
            if kept < self.retention {
                kept += 1;
                continue;
            }
            std::fs::remove_file(&path).map_err(Error::io("remove", &path))?;
        }
        Ok(())
    }
}

/// A DNS label or subdomain: what Kubernetes allows as a namespace or object name.
fn is_safe_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() <= 253
        && segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !segment.starts_with('.')
        && !segment.contains("..")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::BTreeMap;

    fn packed(text: &str) -> Packed {
        let mut files = BTreeMap::new();
        files.insert("manifests.yaml".to_owned(), text.as_bytes().to_vec());
        crate::pack::pack(&files).unwrap()
    }

    #[test]
    fn stores_addresses_and_serves_by_digest() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path().to_owned(), "http://gate.test./", 2).unwrap();
        let artifact = packed("a");
        let stored = storage.store("shop", "web", &artifact).unwrap();
        assert_eq!(
            stored.path,
            format!("gate/shop/web/{}.tar.gz", artifact.digest.hex())
        );
        assert_eq!(stored.url, format!("http://gate.test./{}", stored.path));
        assert_eq!(stored.size, artifact.bytes.len() as u64);
        let file = storage.resolve(&stored.path).unwrap();
        assert_eq!(std::fs::read(file).unwrap(), artifact.bytes);
        for bad in [
            "gate/shop/web/../../../etc/passwd",
            "gate/shop/web/x.tar.gz",
            "other/shop/web/00.tar.gz",
            &stored.path.to_uppercase(),
            "gate/shop/web",
        ] {
            assert!(storage.resolve(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn keeps_the_last_n_artifacts() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path().to_owned(), "http://g", 2).unwrap();
        let a = storage.store("ns", "x", &packed("a")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = storage.store("ns", "x", &packed("b")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(storage.contains(&a.path) && storage.contains(&b.path));
        let c = storage.store("ns", "x", &packed("c")).unwrap();
        assert!(!storage.contains(&a.path), "the oldest was kept");
        assert!(storage.contains(&b.path) && storage.contains(&c.path));
        std::thread::sleep(std::time::Duration::from_millis(20));
        // B approved again becomes the newest: C is now the older one.
        storage.store("ns", "x", &packed("b")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let d = storage.store("ns", "x", &packed("d")).unwrap();
        assert!(!storage.contains(&c.path));
        assert!(storage.contains(&b.path) && storage.contains(&d.path));
        // Another object's artifacts are not touched.
        let other = storage.store("ns", "y", &packed("a")).unwrap();
        assert!(storage.contains(&other.path) && storage.contains(&d.path));
        assert_eq!(storage.objects().len(), 2);
        storage.remove_object("ns", "x").unwrap();
        assert!(!storage.contains(&d.path) && storage.contains(&other.path));
    }

    #[test]
    fn records_sit_beside_artifacts_and_the_published_one_is_kept() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path().to_owned(), "http://g", 1).unwrap();
        let artifact = storage.store("ns", "x", &packed("a")).unwrap();
        let published = storage.store_record("ns", "x", b"{\"r\":1}", &[]).unwrap();
        assert_eq!(
            published.path,
            format!("gate/ns/x/{}.intoto.json", published.digest.hex())
        );
        assert_eq!(published.digest, Sha256Digest::of(b"{\"r\":1}"));
        assert_eq!(
            std::fs::read(storage.resolve(&published.path).unwrap()).unwrap(),
            b"{\"r\":1}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        // Two denied revisions later, with a retention of one: the published
        // artifact's record stays, the older denied one goes, the artifact stays.
        let denied = storage
            .store_record("ns", "x", b"{\"r\":2}", &[published.digest])
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let latest = storage
            .store_record("ns", "x", b"{\"r\":3}", &[published.digest])
            .unwrap();
        assert!(storage.contains(&published.path) && storage.contains(&latest.path));
        assert!(!storage.contains(&denied.path));
        assert!(storage.contains(&artifact.path));
        assert!(storage.resolve("gate/ns/x/abc.intoto.json").is_none());
    }
}
