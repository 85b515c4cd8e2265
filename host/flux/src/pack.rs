//! Writing an artifact as Flux's own archiver does, so that the same tree always
//! gives the same bytes, and so the same digest.
//!
//! fluxcd/pkg `artifact/storage` walks the tree in lexical order and strips every
//! environment-specific header field: uid and gid 0, no user or group name, zero
//! modification time, and fixed modes (0750 directories, 0600 files). The gzip
//! header carries no name and no time. gate writes the same conventions.

use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use flate2::{Compression, GzBuilder};
use std::collections::BTreeMap;

/// The mode of directories in an artifact (Flux's `DefaultDirMode`).
pub const DIR_MODE: u32 = 0o750;
/// The mode of files in an artifact (Flux's `DefaultFileMode`).
pub const FILE_MODE: u32 = 0o600;

/// A packed artifact: its bytes and their digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The tar.gz bytes, as served.
    pub bytes: Vec<u8>,
    /// Their sha256.
    pub digest: Sha256Digest,
}

/// Packs files (relative `/`-separated paths to contents) into a tar.gz. The
/// order of `files` does not matter: entries are written in the order a walk of
/// the tree visits them, each directory before what it holds.
pub fn pack(files: &BTreeMap<String, Vec<u8>>) -> Result<Packed> {
    let mut entries: BTreeMap<Vec<&str>, Option<&[u8]>> = BTreeMap::new();
    for (path, data) in files {
        let components: Vec<&str> = path.split('/').collect();
        if components
            .iter()
            .any(|c| c.is_empty() || *c == "." || *c == "..")
        {
            return Err(Error::UnsafeArchive {
                entry: path.clone(),
                reason: "is not a plain relative path".into(),
            });
        }
        for depth in 1..components.len() {
            entries.insert(components[..depth].to_vec(), None);
        }
        entries.insert(components, Some(data));
    }
    let gzip = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gzip);
    let fail = |source: std::io::Error| Error::Io {
        action: "write the artifact",
        path: "<memory>".into(),
        source,
    };
    for (components, data) in &entries {
        let mut header = tar::Header::new_ustar();
        header
            .set_path(components.join("/"))
            .map_err(|source| Error::UnsafeArchive {
                entry: components.join("/"),
                reason: format!("cannot be stored: {source}"),
            })?;
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        match data {
            Some(data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(FILE_MODE);
                header.set_size(data.len() as u64);
            }
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(DIR_MODE);
                header.set_size(0);
            }
        }
        header.set_cksum();
        tar.append(&header, data.unwrap_or_default())
            .map_err(fail)?;
    }
    let bytes = tar
        .into_inner()
        .and_then(flate2::write::GzEncoder::finish)
        .map_err(fail)?;
    let digest = Sha256Digest::of(&bytes);
    Ok(Packed { bytes, digest })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Read;

    fn tree(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(p, d)| ((*p).to_owned(), d.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn the_same_tree_gives_the_same_bytes() {
        let a = pack(&tree(&[("manifests.yaml", "---\n{}\n"), ("x/y.yaml", "1")])).unwrap();
        let b = pack(&tree(&[("x/y.yaml", "1"), ("manifests.yaml", "---\n{}\n")])).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.digest, Sha256Digest::of(&a.bytes));
        let c = pack(&tree(&[("manifests.yaml", "---\n{}\n"), ("x/y.yaml", "2")])).unwrap();
        assert_ne!(a.digest, c.digest);
    }

    #[test]
    fn headers_follow_the_flux_archiver() {
        let packed = pack(&tree(&[
            ("b/c.yaml", "c"),
            ("a.yaml", "a"),
            ("b.yaml", "b"),
        ]))
        .unwrap();
        // gzip header: no file name flag, mtime 0, OS "unknown".
        assert_eq!(&packed.bytes[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&packed.bytes[4..8], &[0, 0, 0, 0]);
        assert_eq!(packed.bytes[9], 255);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&packed.bytes[..]));
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let h = entry.header();
            assert_eq!(
                (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
                (0, 0, 0)
            );
            assert_eq!(h.username().unwrap(), Some(""));
            assert_eq!(h.groupname().unwrap(), Some(""));
            let mode = h.mode().unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut body = String::new();
            entry.read_to_string(&mut body).unwrap();
            seen.push((path, mode, body));
        }
        let expected = [
            ("a.yaml", FILE_MODE, "a"),
            ("b", DIR_MODE, ""),
            ("b/c.yaml", FILE_MODE, "c"),
            ("b.yaml", FILE_MODE, "b"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(p, m, b)| ((*p).to_owned(), *m, (*b).to_owned()))
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn refuses_paths_that_are_not_plain() {
        for bad in ["/abs.yaml", "../up.yaml", "a//b.yaml", "a/./b.yaml", ""] {
            assert!(pack(&tree(&[(bad, "x")])).is_err(), "{bad:?} was packed");
        }
    }
}
