//! Subjects for what a GitOps tool rendered: the stream it was handed, and the
//! files of the application directory the stream was rendered from.
//!
//! A render's inputs are every file of the directory, not only its manifests
//! (a chart's templates and values, a kustomization's generator files), so the
//! files are digested whatever their extension. Symbolic links are neither
//! followed nor recorded, and version-control directories are left out, as
//! when gate reads manifests.

use crate::error::{Error, Result};
use crate::statement::Subject;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// The subject name of the render stream: the judged objects as one YAML stream.
pub const RENDER_NAME: &str = "<render>";

/// The most files a directory may hold: far above any application, low enough
/// that a hostile checkout cannot keep a front door hashing for ever.
pub const MAX_TREE_FILES: usize = 100_000;

/// Version-control metadata, never part of a render.
const VCS_DIRS: [&str; 3] = [".git", ".hg", ".svn"];

/// Whether a subject names a stream (`<render>`, `<stdin>`) rather than a file.
pub fn is_stream_name(name: &str) -> bool {
    name.starts_with('<') && name.ends_with('>')
}

/// The subject of a stream of bytes.
pub fn stream_subject(name: &str, bytes: &[u8]) -> Subject {
    Subject::sha256(name, &hex::encode(Sha256::digest(bytes)))
}

/// Every regular file under `dir`, named relative to it with `/`, with the
/// sha256 of its bytes, sorted by name.
pub fn tree_subjects(dir: &Path) -> Result<Vec<Subject>> {
    let mut subjects = Vec::new();
    walk(dir, "", &mut subjects)?;
    subjects.sort();
    Ok(subjects)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<Subject>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(Error::io("list", dir))? {
        let entry = entry.map_err(Error::io("list", dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(Error::io("inspect", &path))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("{prefix}{name}");
        if kind.is_dir() {
            if !VCS_DIRS.contains(&name.as_str()) {
                walk(&path, &format!("{relative}/"), out)?;
            }
        } else if kind.is_file() {
            if out.len() >= MAX_TREE_FILES {
                return Err(Error::TooManyFiles {
                    dir: dir.to_owned(),
                    limit: MAX_TREE_FILES,
                });
            }
            out.push(Subject::sha256(relative, &file_digest(&path)?));
        }
    }
    Ok(())
}

fn file_digest(path: &Path) -> Result<String> {
    let read = Error::io("read", path);
    let mut file = std::fs::File::open(path).map_err(&read)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buffer).map_err(&read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_named_relative_and_vcs_and_links_are_left_out() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        for (path, text) in [
            ("kustomization.yaml", "resources: [a.yaml]"),
            ("a.yaml", "kind: A"),
            ("templates/_helpers.tpl", "{{ x }}"),
            (".git/HEAD", "ref"),
        ] {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap_or(root))
                .unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(file, text).unwrap_or_else(|e| panic!("{e}"));
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", root.join("link.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let subjects = tree_subjects(root).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = subjects.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["a.yaml", "kustomization.yaml", "templates/_helpers.tpl"]
        );
        assert_eq!(
            subjects[0].digest["sha256"],
            hex::encode(Sha256::digest(b"kind: A"))
        );
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let err = tree_subjects(Path::new("/no/such/dir"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/no/such/dir"), "{err}");
        assert!(is_stream_name(RENDER_NAME) && !is_stream_name("a.yaml"));
    }
}
