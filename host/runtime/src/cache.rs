//! The disk cache of precompiled components.
//!
//! An entry is keyed by the sha256 of the component, and of everything that makes
//! compiled code valid: the wasmtime version, the target and the engine settings
//! (wasmtime's precompile compatibility hash). Loading an entry runs its native
//! code, so its file ends with a MAC (keyed BLAKE3), under the user's cache key
//! (see `cache_key`), of the component digest, the engine key and the compiled
//! bytes (which start the file, so that wasmtime can map it as it is). Every run
//! verifies the whole entry before mapping it: keyed BLAKE3 is a PRF, as strong a
//! MAC as HMAC-SHA256, and several times faster over megabytes of code.
//! An entry that does not verify (written by someone else, moved from another
//! component's name, corrupt or truncated) is refused and recompiled, never run.

use crate::cache_file::{Unreadable, read_entry};
use crate::cache_key::{self, Refused};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Bytes of a tag (keyed BLAKE3).
pub(crate) const MAC_LEN: usize = 32;

/// A directory of precompiled components.
pub struct ComponentCache {
    pub(crate) dir: PathBuf,
    /// Hex sha256 of the engine's compatibility hash.
    pub(crate) engine_key: String,
    /// The user's secret: only entries MACed with it are loaded.
    key: [u8; 32],
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
    /// Opens (creating if needed) a cache directory for this engine, with the key
    /// at `key_path` (created on first use). `Ok(None)` when the directory or the
    /// key is not safe to use (another user can write it): gate then compiles
    /// every component and says why once.
    pub fn new(dir: PathBuf, key_path: &Path, engine: &Engine) -> Result<Option<ComponentCache>> {
        cache_key::create_private_dir(&dir).map_err(|source| Error::Cache {
            path: dir.clone(),
            what: "cannot create the directory",
            source,
        })?;
        let key = match cache_key::check_not_writable_by_others(&dir)
            .and_then(|()| refuse_key_inside(&dir, key_path))
            .and_then(|()| cache_key::load_or_create(key_path))
        {
            Ok(key) => key,
            Err(refused) => {
                tracing::warn!(%refused, "component cache disabled; every policy is compiled");
                return Ok(None);
            }
        };
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Some(ComponentCache {
            dir,
            engine_key: hex::encode(hasher.0.finalize()),
            key,
        }))
    }

    /// A MAC under the user's cache key (keyed BLAKE3), bound to what it
    /// authenticates: the kind of file (`domain`, which ends in NUL), its
    /// subject and this engine; the caller adds the bytes.
    pub(crate) fn keyed_mac(&self, domain: &[u8], subject: &str) -> blake3::Hasher {
        let mut mac = blake3::Hasher::new_keyed(&self.key);
        mac.update(domain);
        mac.update(subject.as_bytes());
        mac.update(b"\0");
        mac.update(self.engine_key.as_bytes());
        mac.update(b"\0");
        mac
    }

    /// Names the key without revealing it: file names carry it.
    pub(crate) fn key_id(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"gate cache key id\0")
            .chain_update(self.key)
            .finalize()
            .into()
    }

    /// The MAC of an entry: what it is (digest, engine) and what it holds.
    fn mac(&self, digest: &str) -> blake3::Hasher {
        self.keyed_mac(b"gate component cache v4\0", digest)
    }

    /// The file for a component digest (`sha256:...`). The name changes with the
    /// entry format, so entries of older gates are never read (they only linger),
    /// and with the key: users (or CI jobs) with different keys sharing a directory
    /// each find their own entries, and a file at one of this user's names that does
    /// not verify was put there by someone else.
    pub fn path_for(&self, digest: &str) -> PathBuf {
        let key_id = self.key_id();
        let key = Sha256::new()
            .chain_update(digest.as_bytes())
            .chain_update(b"\0")
            .chain_update(self.engine_key.as_bytes())
            .chain_update(b"\0blake3-mac-v1\0")
            .chain_update(key_id)
            .finalize();
        self.dir.join(format!("{}.cwasm", hex::encode(key)))
    }

    /// Loads a precompiled component, or `None` if it is absent or does not
    /// verify.
    pub fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path_for(digest);
        let (file, bytes) = match read_entry(&path) {
            Ok(entry) => entry,
            Err(Unreadable::Missing) => return None,
            Err(Unreadable::Foreign(why)) => {
                tracing::warn!(path = %path.display(), %why, "cache entry refused; recompiling");
                return None;
            }
        };
        let verified = bytes
            .len()
            .checked_sub(MAC_LEN)
            .map(|end| bytes.split_at(end))
            .filter(|(body, tag)| {
                let mut mac = self.mac(digest);
                mac.update(body);
                verify(&mac, tag)
            });
        let Some((body, _)) = verified else {
            tracing::warn!(
                path = %path.display(),
                "cache entry refused: not written by this user's gate for this component \
                 (or damaged); recompiling"
            );
            return None;
        };
        match deserialize(engine, &file, body) {
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
            .and_then(|body| {
                let mut mac = self.mac(digest);
                mac.update(&body);
                // The tag goes last: the compiled code starts the file, as
                // wasmtime maps it (see `deserialize`).
                write_atomically(&path, &[&body, mac.finalize().as_bytes()])
            });
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot write cache entry");
        }
    }
}

/// Whether `tag` is the MAC's value, compared in constant time (`blake3::Hash`'s
/// equality).
pub(crate) fn verify(mac: &blake3::Hasher, tag: &[u8]) -> bool {
    <[u8; MAC_LEN]>::try_from(tag).is_ok_and(|tag| mac.finalize() == blake3::Hash::from(tag))
}

/// Loads a verified entry. `body` is the verified bytes of `file` (all but the
/// tag at its end). On Linux wasmtime maps the open file itself, through its
/// descriptor: the same file, not whatever its name points to now; its code
/// pages are then shared with the page cache instead of copied, and only those
/// a call runs are read. Elsewhere, or if that fails (no `/proc`, a cache on a
/// `noexec` mount), the verified bytes are copied.
fn deserialize(engine: &Engine, file: &File, body: &[u8]) -> wasmtime::Result<Component> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        // SAFETY: the file's bytes verified under this user's secret key, bound
        // to this component digest and engine: they are what this user's gate
        // wrote with `Component::serialize`, for an engine with the same
        // compatibility hash. Nobody without the key can produce such a file,
        // and nobody but this user can write it (`read_entry`); gate never
        // writes an entry in place (it renames a new file over it). The trailing
        // tag lies past the sections wasmtime reads.
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(e) => tracing::debug!(error = %e, "cannot map the cache entry; copying it"),
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    // SAFETY: as above: `body` verified under this user's key.
    #[allow(unsafe_code)]
    unsafe {
        Component::deserialize(engine, body)
    }
}

/// The key must not travel with the cache: a key inside the directory would be
/// copied, restored or planted along with the entries.
fn refuse_key_inside(dir: &Path, key_path: &Path) -> Result<(), Refused> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let key_dir = key_path
        .parent()
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.to_owned()));
    if key_dir.is_some_and(|k| k.starts_with(&dir)) {
        return Err(Refused {
            path: key_path.to_owned(),
            why: format!(
                "the cache key must not be inside the cache {}",
                dir.display()
            ),
        });
    }
    Ok(())
}

/// Writes `parts` one after the other to a temporary file, then renames it into
/// place: a reader never sees a half-written entry.
pub(crate) fn write_atomically(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    for part in parts {
        file.write_all(part)?;
    }
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
