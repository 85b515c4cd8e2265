//! The secret that authenticates precompiled cache entries.
//!
//! Loading a cache entry runs native code, so gate only loads entries it wrote
//! itself: each carries a MAC (keyed BLAKE3) under a key that lives outside the cache
//! (by default `$XDG_CONFIG_HOME/gate/cache.key`), where a shared, restored or
//! tampered cache directory cannot bring one along. The key is 32 random bytes,
//! created on first use, in a file of mode 0600; a key file that another user can
//! read or write is refused, and so is a cache directory that another user can
//! write.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Bytes of key.
const KEY_LEN: usize = 32;

/// Why the cache cannot be used safely.
#[derive(Debug)]
pub(crate) struct Refused {
    /// The file or directory.
    pub(crate) path: PathBuf,
    /// Why.
    pub(crate) why: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.why)
    }
}

fn refused(path: &Path, why: impl Into<String>) -> Refused {
    Refused {
        path: path.to_owned(),
        why: why.into(),
    }
}

/// Reads the key at `path`, creating it (and its directory, private) on first use.
pub(crate) fn load_or_create(path: &Path) -> Result<[u8; KEY_LEN], Refused> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(|e| refused(dir, format!("cannot create: {e}")))?;
        check_not_writable_by_others(dir)?;
    }
    match open_existing(path) {
        Ok(key) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(refused(path, format!("cannot read: {e}"))),
    }
    .and_then(|key| {
        check_private(path)?;
        Ok(key)
    })
}

fn open_existing(path: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    let mut file = std::fs::File::open(path)?;
    let mut key = [0u8; KEY_LEN];
    file.read_exact(&mut key)?;
    Ok(key)
}

/// Writes a fresh key beside its final name, then links it there unless a key
/// already exists: two gates starting at once keep the first one's key, and no
/// reader ever sees a half-written file.
fn create(path: &Path) -> Result<[u8; KEY_LEN], Refused> {
    let key = random_key().map_err(|e| refused(path, format!("no entropy: {e}")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    // tempfile creates the file with mode 0600.
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| refused(dir, format!("cannot create a file: {e}")))?;
    file.write_all(&key)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| refused(path, format!("cannot write: {e}")))?;
    match file.persist_noclobber(path) {
        Ok(_) => Ok(key),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            open_existing(path).map_err(|e| refused(path, format!("cannot read: {e}")))
        }
        Err(e) => Err(refused(path, format!("cannot create: {}", e.error))),
    }
}

/// 32 bytes from the operating system's generator.
fn random_key() -> std::io::Result<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(key)
}

/// The key file must be the user's own, and nobody else's to read or write.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), Refused> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(|e| refused(path, e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(refused(path, "is not a regular file"));
    }
    check_owner(path, meta.uid())?;
    if meta.mode() & 0o077 != 0 {
        return Err(refused(
            path,
            format!(
                "mode {:o} lets other users read or write the key; it must be 600",
                meta.mode() & 0o777
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), Refused> {
    Ok(())
}

/// A directory that another user can write lets them plant or swap files.
#[cfg(unix)]
pub(crate) fn check_not_writable_by_others(dir: &Path) -> Result<(), Refused> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).map_err(|e| refused(dir, e.to_string()))?;
    check_owner(dir, meta.uid())?;
    if meta.mode() & 0o022 != 0 {
        return Err(refused(
            dir,
            format!(
                "mode {:o} lets other users write into it",
                meta.mode() & 0o777
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_not_writable_by_others(_dir: &Path) -> Result<(), Refused> {
    Ok(())
}

#[cfg(unix)]
pub(crate) fn check_owner(path: &Path, uid: u32) -> Result<(), Refused> {
    let me = rustix::process::geteuid().as_raw();
    if uid != me {
        return Err(refused(
            path,
            format!("is owned by uid {uid}, not by this user (uid {me})"),
        ));
    }
    Ok(())
}

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The default place of the key: `$XDG_CONFIG_HOME/gate/cache.key`, else
/// `~/.config/gate/cache.key`.
pub fn default_key_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gate").join("cache.key"))
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_a_private_key_once_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gate/cache.key");
        let first = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&path).unwrap(), first);
        assert_ne!(first, [0u8; KEY_LEN]);
    }

    #[test]
    fn refuses_a_key_other_users_can_read_or_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.key");
        load_or_create(&path).unwrap();
        for mode in [0o644, 0o620, 0o602] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let error = load_or_create(&path).unwrap_err();
            assert!(error.why.contains("must be 600"), "{error}");
        }
    }

    #[test]
    fn refuses_a_directory_other_users_can_write() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = check_not_writable_by_others(dir.path()).unwrap_err();
        assert!(error.why.contains("other users write"), "{error}");
        let error = load_or_create(&dir.path().join("cache.key")).unwrap_err();
        assert!(error.why.contains("other users write"), "{error}");
    }
}
