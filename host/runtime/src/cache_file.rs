//! Reading a cache entry: its bytes, mapped from the page cache rather than
//! copied into the heap (a compiled component is about a megabyte, and reading
//! it was a fifth of the start-up of `gate check`), with the open file, so that
//! the code loaded is that of the very file whose bytes were verified.
//!
//! Only a file that nobody but this user can write is read: a regular file,
//! owned by this user, with no write permission for group or others (the cache
//! directory is checked the same way). The bytes verified by the entry's MAC are
//! then the bytes loaded: no one else can change them in between.

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

/// The bytes of a cache entry.
pub(crate) enum EntryBytes {
    /// Mapped read-only, private.
    #[cfg(unix)]
    Mapped(Mapping),
    /// Read into the heap (empty files, and systems without `mmap`).
    #[cfg_attr(unix, allow(dead_code))]
    Read(Vec<u8>),
}

impl Deref for EntryBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            #[cfg(unix)]
            EntryBytes::Mapped(mapping) => mapping.bytes(),
            EntryBytes::Read(bytes) => bytes,
        }
    }
}

/// Why an entry was not read.
#[derive(Debug)]
pub(crate) enum Unreadable {
    /// There is no such file (or it cannot be opened): a plain cache miss.
    Missing,
    /// The file is there but another user could have written it.
    Foreign(String),
}

/// Reads the entry at `path`, refusing a file another user could have written;
/// returns the open file with its bytes.
pub(crate) fn read_entry(path: &Path) -> Result<(File, EntryBytes), Unreadable> {
    let file = File::open(path).map_err(|_| Unreadable::Missing)?;
    check_private(&file, path)?;
    let bytes = map(&file)?;
    Ok((file, bytes))
}

#[cfg(unix)]
fn check_private(file: &File, path: &Path) -> Result<(), Unreadable> {
    use std::os::unix::fs::MetadataExt;
    let meta = file
        .metadata()
        .map_err(|e| Unreadable::Foreign(e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(Unreadable::Foreign("not a regular file".into()));
    }
    crate::cache_key::check_owner(path, meta.uid())
        .map_err(|refused| Unreadable::Foreign(refused.why))?;
    if meta.mode() & 0o022 != 0 {
        return Err(Unreadable::Foreign(format!(
            "mode {:o} lets other users write it",
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_file: &File, _path: &Path) -> Result<(), Unreadable> {
    Ok(())
}

#[cfg(unix)]
fn map(file: &File) -> Result<EntryBytes, Unreadable> {
    let len = file
        .metadata()
        .map_err(|e| Unreadable::Foreign(e.to_string()))?
        .len();
    let len = usize::try_from(len).map_err(|_| Unreadable::Foreign("too large".into()))?;
    if len == 0 {
        return Ok(EntryBytes::Read(Vec::new()));
    }
    Mapping::new(file, len)
        .map(EntryBytes::Mapped)
        .map_err(|e| Unreadable::Foreign(format!("cannot map: {e}")))
}

#[cfg(not(unix))]
fn map(mut file: &File) -> Result<EntryBytes, Unreadable> {
    use std::io::Read;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Unreadable::Foreign(e.to_string()))?;
    Ok(EntryBytes::Read(bytes))
}

/// A read-only private mapping of a whole file, unmapped when dropped.
#[cfg(unix)]
pub(crate) struct Mapping {
    ptr: std::ptr::NonNull<std::ffi::c_void>,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value: sharing or sending
// it shares or sends immutable bytes.
#[cfg(unix)]
#[allow(unsafe_code)]
unsafe impl Send for Mapping {}
#[cfg(unix)]
#[allow(unsafe_code)]
unsafe impl Sync for Mapping {}

#[cfg(unix)]
impl Mapping {
    #[allow(unsafe_code)]
    fn new(file: &File, len: usize) -> rustix::io::Result<Mapping> {
        use rustix::mm::{MapFlags, ProtFlags, mmap};
        // SAFETY: a fresh mapping at an address the kernel picks, of a file
        // opened for reading, read-only: it aliases no Rust memory. Pages are
        // mapped as the MAC reads them, sixteen to a fault (the kernel's fault-
        // around), which costs less than populating the mapping page by page
        // up front (measured in BENCHMARKS.md). The file can only change under the mapping if this user writes
        // it in place; gate never does (entries are replaced by renaming), and
        // `check_private` made sure no other user can.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::PRIVATE,
                file,
                0,
            )?
        };
        let ptr = std::ptr::NonNull::new(ptr).ok_or(rustix::io::Errno::FAULT)?;
        Ok(Mapping { ptr, len })
    }

    #[allow(unsafe_code)]
    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until `self` is dropped.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>(), self.len) }
    }
}

#[cfg(unix)]
impl Drop for Mapping {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once; no borrow of it
        // outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr(), self.len) };
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn reads_a_private_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry");
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(&*read_entry(&path).unwrap().1, bytes.as_slice());
        std::fs::write(&path, b"").unwrap();
        assert!(read_entry(&path).unwrap().1.is_empty());
    }

    #[test]
    fn refuses_a_file_others_can_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry");
        std::fs::write(&path, b"entry").unwrap();
        for mode in [0o620, 0o602, 0o666] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(
                matches!(read_entry(&path), Err(Unreadable::Foreign(why)) if why.contains("other users")),
                "{mode:o}"
            );
        }
        assert!(matches!(
            read_entry(&dir.path().join("absent")),
            Err(Unreadable::Missing)
        ));
    }
}
