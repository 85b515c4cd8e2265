//! Gives the runtime an identity of its own code: the cache records of what a
//! component said (its description, the settings it accepted) are only reused by
//! a host built from the same sources, which lifts and checks answers the same way.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let watched = [manifest.join("src"), manifest.join("../../wit")];
    let mut files = Vec::new();
    for dir in &watched {
        println!("cargo::rerun-if-changed={}", dir.display());
        collect(dir, &mut files);
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    for file in &files {
        file.strip_prefix(&manifest)
            .unwrap_or(file)
            .hash(&mut hasher);
        std::fs::read(file).unwrap_or_default().hash(&mut hasher);
    }
    println!(
        "cargo::rustc-env=GATE_RUNTIME_BUILD_ID={:016x}",
        hasher.finish()
    );
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
