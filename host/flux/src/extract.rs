//! Extracting a source artifact (tar.gz) safely: a whole tree or nothing.
//!
//! kustomize-controller's untar refuses paths out of the tree and skips symlinks.
//! gate is stricter, because what it extracts is then rendered by a program that
//! follows whatever it finds: every entry must be a plain file or a directory at
//! a relative path that stays inside the tree, and the archive must fit the
//! limits. Any violation fails the whole extraction and removes what was written.

use crate::error::{Error, Result};
use std::fs::{DirBuilder, OpenOptions};
use std::io::{Read, Write};
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use tar::EntryType;

/// How much an archive may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of file content, all files together.
    pub max_bytes: u64,
    /// The most entries (files and directories).
    pub max_entries: u64,
    /// The longest path of an entry, in bytes.
    pub max_path_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 256 << 20,
            max_entries: 20_000,
            max_path_len: 1024,
        }
    }
}

/// The longest name of one path component on common filesystems.
const MAX_COMPONENT: usize = 255;

/// An extracted tree. The directory is removed when this is dropped.
#[derive(Debug)]
pub struct Extracted {
    dir: tempfile::TempDir,
    /// Regular files written.
    pub files: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

impl Extracted {
    /// The root of the tree.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// Extracts a gzip-compressed tar stream into a new directory under `parent`.
/// On any error the directory and everything written to it are removed.
pub fn extract(archive: impl Read, parent: &Path, limits: &Limits) -> Result<Extracted> {
    let dir = tempfile::Builder::new()
        .prefix("tree-")
        .tempdir_in(parent)
        .map_err(Error::io("create a directory in", parent))?;
    // `dir` is dropped (and removed) if anything below fails.
    let (files, bytes) = extract_into(archive, dir.path(), limits)?;
    Ok(Extracted { dir, files, bytes })
}

fn extract_into(archive: impl Read, root: &Path, limits: &Limits) -> Result<(u64, u64)> {
    // Go's gzip reader (kustomize-controller's) reads concatenated members too.
    let gunzip = flate2::read::MultiGzDecoder::new(archive);
    // Headers, padding and long-name records are not file content: bound the
    // decompressed stream as well, so no entry layout can make it unbounded.
    let stream_limit = limits.max_bytes.saturating_add(
        limits
            .max_entries
            .saturating_add(16)
            .saturating_mul(4 * 512),
    );
    let mut tar = tar::Archive::new(Bounded {
        inner: gunzip,
        left: stream_limit,
    });
    let entries = tar
        .entries()
        .map_err(|source| Error::ArchiveFormat { source })?;
    let (mut count, mut files, mut bytes) = (0u64, 0u64, 0u64);
    for entry in entries {
        let mut entry = entry.map_err(|source| Error::ArchiveFormat { source })?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let unsafe_entry = |reason: &str| Error::UnsafeArchive {
            entry: name.clone(),
            reason: reason.to_owned(),
        };
        let kind = entry.header().entry_type();
        match kind {
            EntryType::Regular | EntryType::Directory => {}
            // A pax global header describes the archive, not a file (git archive writes one).
            EntryType::XGlobalHeader => continue,
            EntryType::Symlink => return Err(unsafe_entry("is a symbolic link")),
            EntryType::Link => return Err(unsafe_entry("is a hard link")),
            EntryType::Char | EntryType::Block => return Err(unsafe_entry("is a device")),
            EntryType::Fifo => return Err(unsafe_entry("is a FIFO")),
            other => {
                return Err(unsafe_entry(&format!(
                    "has entry type {:?}: only files and directories are extracted",
                    other.as_byte() as char
                )));
            }
        }
        count += 1;
        if count > limits.max_entries {
            return Err(Error::ArchiveLimit {
                what: "number of entries",
                limit: limits.max_entries,
            });
        }
        let relative = safe_path(&raw, limits.max_path_len).map_err(|r| unsafe_entry(&r))?;
        let target = root.join(&relative);
        if kind == EntryType::Directory {
            if !relative.as_os_str().is_empty() {
                make_dirs(&target)?;
            }
            continue;
        }
        if relative.as_os_str().is_empty() {
            return Err(unsafe_entry("is a file with no name"));
        }
        let size = entry
            .header()
            .size()
            .map_err(|source| Error::ArchiveFormat { source })?;
        bytes = bytes.saturating_add(size);
        if bytes > limits.max_bytes {
            return Err(Error::ArchiveLimit {
                what: "total size of the files",
                limit: limits.max_bytes,
            });
        }
        if let Some(parent) = target.parent() {
            make_dirs(parent)?;
        }
        let mut options = OpenOptions::new();
        // `create_new`: an entry never replaces another (or anything at all).
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&target).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                unsafe_entry("appears twice, or collides with a directory")
            } else {
                Error::io("create", &target)(e)
            }
        })?;
        let written = std::io::copy(&mut (&mut entry).take(size), &mut file)
            .map_err(|source| Error::ArchiveFormat { source })?;
        if written != size {
            return Err(Error::ArchiveFormat {
                source: std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("entry {name:?} is truncated ({written} of {size} bytes)"),
                ),
            });
        }
        file.flush().map_err(Error::io("write", &target))?;
        files += 1;
    }
    Ok((files, bytes))
}

/// The relative path an entry name stands for, or why it is refused. Only normal
/// components survive; `.` and empty components (`a//b`, a directory's trailing
/// `/`) are dropped.
fn safe_path(raw: &[u8], max_len: usize) -> std::result::Result<PathBuf, String> {
    if raw.len() > max_len {
        return Err(format!("has a path longer than {max_len} bytes"));
    }
    let text = std::str::from_utf8(raw).map_err(|_| "has a path that is not UTF-8".to_owned())?;
    if text.starts_with('/') {
        return Err("has an absolute path".into());
    }
    if text.contains('\\') {
        return Err("has a backslash in its path".into());
    }
    if text.contains('\0') {
        return Err("has a NUL byte in its path".into());
    }
    let mut path = PathBuf::new();
    for component in text.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err("climbs out of the tree with `..`".into()),
            name if name.len() > MAX_COMPONENT => {
                return Err(format!(
                    "has a path component longer than {MAX_COMPONENT} bytes"
                ));
            }
            name => path.push(name),
        }
    }
    Ok(path)
}

/// Creates a directory and its parents (mode 0750, as Flux's archiver sets them).
fn make_dirs(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o750);
    builder
        .create(path)
        .map_err(Error::io("create directory", path))
}

/// A reader that fails, rather than ends, past its budget.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more than allowed means the stream is too large.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(
                    "the decompressed archive is larger than its limits allow",
                )),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..want])?;
        self.left -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    /// One raw entry: name bytes written straight into the header, so that
    /// names the `tar` crate would refuse to build can be tested.
    struct Raw<'a> {
        name: &'a [u8],
        kind: EntryType,
        data: &'a [u8],
        link: &'a [u8],
    }

    fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
        Raw {
            name: name.as_bytes(),
            kind: EntryType::Regular,
            data,
            link: b"",
        }
    }

    fn targz(entries: &[Raw]) -> Vec<u8> {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        for e in entries {
            let mut header = tar::Header::new_gnu();
            let gnu = header.as_gnu_mut().unwrap();
            gnu.name[..e.name.len()].copy_from_slice(e.name);
            gnu.linkname[..e.link.len()].copy_from_slice(e.link);
            header.set_entry_type(e.kind);
            header.set_size(e.data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, e.data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn run(entries: &[Raw], limits: &Limits) -> (tempfile::TempDir, Result<Extracted>) {
        let parent = tempfile::tempdir().unwrap();
        let result = extract(&targz(entries)[..], parent.path(), limits);
        (parent, result)
    }

    fn refused(entries: &[Raw], limits: &Limits) -> String {
        let (parent, result) = run(entries, limits);
        let err = result.expect_err("the archive was accepted").to_string();
        // Never a partial tree: nothing is left behind.
        assert_eq!(
            std::fs::read_dir(parent.path()).unwrap().count(),
            0,
            "{err}"
        );
        err
    }

    #[test]
    fn extracts_files_and_directories() {
        let (_parent, result) = run(
            &[
                Raw {
                    name: b"./deploy/",
                    kind: EntryType::Directory,
                    data: b"",
                    link: b"",
                },
                file("./deploy/app.yaml", b"kind: ConfigMap\n"),
                file("top.yaml", b"x"),
            ],
            &Limits::default(),
        );
        let tree = result.unwrap();
        assert_eq!((tree.files, tree.bytes), (2, 17));
        let text = std::fs::read_to_string(tree.root().join("deploy/app.yaml")).unwrap();
        assert_eq!(text, "kind: ConfigMap\n");
        let root = tree.root().to_owned();
        drop(tree);
        assert!(!root.exists(), "the tree outlived its handle");
    }

    #[test]
    fn refuses_every_kind_of_link_and_special_file() {
        let cases = [
            (EntryType::Symlink, "symbolic link"),
            (EntryType::Link, "hard link"),
            (EntryType::Char, "device"),
            (EntryType::Block, "device"),
            (EntryType::Fifo, "FIFO"),
            // The tar reader itself refuses a sparse file it cannot expand.
            (EntryType::GNUSparse, "tar.gz"),
            (EntryType::Continuous, "entry type"),
            (EntryType::new(b'Z'), "entry type"),
        ];
        for (kind, expected) in cases {
            let err = refused(
                &[
                    file("a.yaml", b"ok"),
                    Raw {
                        name: b"b.yaml",
                        kind,
                        data: b"",
                        link: b"/etc/passwd",
                    },
                ],
                &Limits::default(),
            );
            assert!(err.contains(expected), "{kind:?}: {err}");
        }
    }

    #[test]
    fn refuses_paths_out_of_the_tree() {
        for (name, expected) in [
            ("/etc/cron.d/x", "absolute"),
            ("../x.yaml", "`..`"),
            ("a/../../x.yaml", "`..`"),
            ("a/..", "`..`"),
            ("a\\..\\x", "backslash"),
        ] {
            let err = refused(&[file(name, b"x")], &Limits::default());
            assert!(err.contains(expected), "{name}: {err}");
        }
        let err = refused(
            &[Raw {
                name: b"a\xff.yaml",
                kind: EntryType::Regular,
                data: b"",
                link: b"",
            }],
            &Limits::default(),
        );
        assert!(err.contains("UTF-8"), "{err}");
    }

    #[test]
    fn refuses_duplicates_and_collisions() {
        let err = refused(
            &[file("a.yaml", b"1"), file("a.yaml", b"2")],
            &Limits::default(),
        );
        assert!(err.contains("twice"), "{err}");
        let err = refused(
            &[file("a", b"1"), file("a/b.yaml", b"2")],
            &Limits::default(),
        );
        assert!(err.contains("a"), "{err}");
    }

    #[test]
    fn enforces_the_limits() {
        let limits = Limits {
            max_bytes: 10,
            max_entries: 3,
            max_path_len: 20,
        };
        let err = refused(&[file("a", b"123456"), file("b", b"123456")], &limits);
        assert!(err.contains("total size"), "{err}");
        let err = refused(
            &[
                file("a", b""),
                file("b", b""),
                file("c", b""),
                file("d", b""),
            ],
            &limits,
        );
        assert!(err.contains("number of entries"), "{err}");
        let err = refused(&[file("a/very/long/path/name.yaml", b"")], &limits);
        assert!(err.contains("longer than 20"), "{err}");
        // At the limits exactly: accepted.
        let (_p, ok) = run(&[file("a", b"12345"), file("b", b"12345")], &limits);
        assert_eq!(ok.unwrap().bytes, 10);
    }

    #[test]
    fn refuses_truncated_and_non_gzip_input() {
        let full = targz(&[file("a.yaml", &[b'x'; 4000])]);
        let parent = tempfile::tempdir().unwrap();
        let err = extract(&full[..full.len() / 2], parent.path(), &Limits::default())
            .expect_err("truncated archive accepted")
            .to_string();
        assert!(err.contains("tar.gz"), "{err}");
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
        let err = extract(
            &b"plain text, not gzip"[..],
            parent.path(),
            &Limits::default(),
        )
        .expect_err("non-gzip accepted")
        .to_string();
        assert!(err.contains("tar.gz"), "{err}");
    }

    #[test]
    fn records_that_are_not_entries_still_count_against_the_stream_limit() {
        // A pax extended header is metadata, not an entry: 100 KiB of it before a
        // one-byte file must not slip past limits sized for one tiny file.
        let comment = format!("{} comment={}\n", 100_016, "x".repeat(100_000));
        let entries = [
            Raw {
                name: b"pax",
                kind: EntryType::XHeader,
                data: comment.as_bytes(),
                link: b"",
            },
            file("a", b"1"),
        ];
        let limits = Limits {
            max_bytes: 10,
            max_entries: 1,
            max_path_len: 100,
        };
        let err = refused(&entries, &limits);
        assert!(err.contains("tar.gz"), "{err}");
        // The same archive under the default limits is fine.
        let (_p, ok) = run(&entries, &Limits::default());
        assert_eq!(ok.unwrap().files, 1);
    }

    #[test]
    fn the_bound_fails_instead_of_ending() {
        let data = vec![7u8; 2048];
        let mut exact = Bounded {
            inner: &data[..],
            left: 2048,
        };
        assert_eq!(
            std::io::copy(&mut exact, &mut std::io::sink()).unwrap(),
            2048
        );
        let mut short = Bounded {
            inner: &data[..],
            left: 1024,
        };
        assert!(std::io::copy(&mut short, &mut std::io::sink()).is_err());
    }
}
