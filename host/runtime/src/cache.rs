//! The disk cache of precompiled components.
//!
//! An entry is keyed by the sha256 of the component, and of everything that makes
//! compiled code valid: the wasmtime version, the target and the engine settings
//! (wasmtime's precompile compatibility hash). Its file starts with the sha256 of
//! the compiled bytes, checked on every load: a corrupt or truncated entry is
//! recompiled, never run.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A directory of precompiled components.
pub struct ComponentCache {
    dir: PathBuf,
    /// Hex sha256 of the engine's compatibility hash.
    engine_key: String,
}

/// Feeds `Hash` output into sha256, so the key is stable across runs.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ComponentCache {
    /// Opens (creating if needed) a cache directory for this engine.
    pub fn new(dir: PathBuf, engine: &Engine) -> Result<ComponentCache> {
        create_private_dir(&dir).map_err(|source| Error::Cache {
            path: dir.clone(),
            what: "cannot create the directory",
            source,
        })?;
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(ComponentCache {
            dir,
            engine_key: hex::encode(hasher.0.finalize()),
        })
    }

    /// The file for a component digest (`sha256:...`).
    pub fn path_for(&self, digest: &str) -> PathBuf {
        let key = Sha256::new()
            .chain_update(digest.as_bytes())
            .chain_update(b"\0")
            .chain_update(self.engine_key.as_bytes())
            .finalize();
        self.dir.join(format!("{}.cwasm", hex::encode(key)))
    }

    /// Loads a precompiled component, or `None` if it is absent or corrupt.
    pub fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path_for(digest);
        let bytes = std::fs::read(&path).ok()?;
        let checked = (bytes.len() > 32)
            .then(|| bytes.split_at(32))
            .filter(|(sum, body)| Sha256::digest(body).as_slice() == *sum);
        let Some((_, body)) = checked else {
            tracing::warn!(path = %path.display(), "corrupt cache entry; recompiling");
            return None;
        };
        // SAFETY: `body` was written by `Component::serialize` of an engine with the
        // same compatibility hash (the file name says so), and its sha256 matches
        // the one stored beside it, so it is the bytes wasmtime produced. The cache
        // directory is created private to the user.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, body) };
        match component {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unusable cache entry; recompiling");
                None
            }
        }
    }

    /// Stores a compiled component. Failures only cost a recompile next time.
    pub fn store(&self, digest: &str, component: &Component) {
        let path = self.path_for(digest);
        let result = component
            .serialize()
            .map_err(std::io::Error::other)
            .and_then(|body| write_atomically(&path, &body));
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot write cache entry");
        }
    }
}

fn write_atomically(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(&Sha256::digest(body))?;
    file.write_all(body)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
