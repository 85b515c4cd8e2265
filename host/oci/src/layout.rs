//! OCI image layout tarballs: moving policies and their signatures to
//! air-gapped sites.
//!
//! `save` writes `oci-layout`, `index.json` (the named manifests) and every blob
//! they reach (configs, components, signature manifests and their layers,
//! referrers indexes). `load` checks every blob's digest before it enters the
//! store, then adds the names.

use crate::digest;
use crate::error::{Error, Result};
use crate::manifest::{
    DOCKER_MANIFEST, Descriptor, Index, Manifest, OCI_INDEX, OCI_MANIFEST, annotations::REF_NAME,
};
use crate::store::Store;
use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;

/// Writes the named manifests of the store, with everything they reach, to a tarball.
/// Returns the number of blobs written.
pub fn save(store: &Store, names: &[String], out: &Path) -> Result<usize> {
    let mut index = Index::new();
    let mut blobs = BTreeSet::new();
    for name in names {
        let descriptor = store.get_ref(name)?.ok_or_else(|| Error::NotInStore {
            reference: name.clone(),
            store: store.root().to_owned(),
        })?;
        walk(store, name, &descriptor, &mut blobs)?;
        index.manifests.push(descriptor);
    }
    let file = std::fs::File::create(out).map_err(Error::io(out))?;
    let mut tar = tar::Builder::new(file);
    let mut append = |path: &str, bytes: &[u8]| -> Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, path, bytes)
            .map_err(Error::io(out))
    };
    append("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    append(
        "index.json",
        &serde_json::to_vec_pretty(&index).unwrap_or_default(),
    )?;
    for digest in &blobs {
        let bytes = store.read_blob(digest)?.ok_or_else(|| Error::NotInStore {
            reference: digest.clone(),
            store: store.root().to_owned(),
        })?;
        append(
            &format!("blobs/sha256/{}", digest::hex_part(digest)),
            &bytes,
        )?;
    }
    tar.into_inner().map_err(Error::io(out))?;
    Ok(blobs.len())
}

fn walk(
    store: &Store,
    name: &str,
    descriptor: &Descriptor,
    seen: &mut BTreeSet<String>,
) -> Result<()> {
    if !seen.insert(descriptor.digest.clone()) {
        return Ok(());
    }
    let bytes = store
        .read_blob(&descriptor.digest)?
        .ok_or_else(|| Error::NotInStore {
            reference: format!("{name} ({})", descriptor.digest),
            store: store.root().to_owned(),
        })?;
    match descriptor.media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let manifest = Manifest::parse(name, &bytes)?;
            for child in std::iter::once(&manifest.config).chain(&manifest.layers) {
                walk(store, name, child, seen)?;
            }
        }
        OCI_INDEX => {
            let index: Index = serde_json::from_slice(&bytes).map_err(|e| Error::Layout {
                path: store.root().to_owned(),
                message: format!("{name}: not an index: {e}"),
            })?;
            for child in &index.manifests {
                // Referrers may not all have been fetched; take those the store has.
                if store.read_blob(&child.digest)?.is_some() {
                    walk(store, name, child, seen)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Loads a tarball into the store; returns the names it adds.
pub fn load(store: &Store, tarball: &Path) -> Result<Vec<String>> {
    let err = |message: String| Error::Layout {
        path: tarball.to_owned(),
        message,
    };
    let file = std::fs::File::open(tarball).map_err(Error::io(tarball))?;
    let mut archive = tar::Archive::new(file);
    let mut index: Option<Index> = None;
    let mut layout_seen = false;
    for entry in archive.entries().map_err(Error::io(tarball))? {
        let mut entry = entry.map_err(Error::io(tarball))?;
        let path = entry
            .path()
            .map_err(Error::io(tarball))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_owned();
        if entry.header().entry_type().is_dir() {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(Error::io(tarball))?;
        if path == "oci-layout" {
            layout_seen = true;
        } else if path == "index.json" {
            index =
                Some(serde_json::from_slice(&bytes).map_err(|e| err(format!("index.json: {e}")))?);
        } else if let Some(hex) = path.strip_prefix("blobs/sha256/") {
            let expected = format!("sha256:{hex}");
            if !digest::is_sha256(&expected) {
                return Err(err(format!("{path}: not a sha256 blob name")));
            }
            store.write_blob(&expected, &bytes).map_err(|e| match e {
                Error::DigestMismatch { actual, .. } => err(format!(
                    "{path}: content digest is {actual}: the tarball was altered"
                )),
                other => other,
            })?;
        } else {
            return Err(err(format!("unexpected entry {path:?}")));
        }
    }
    if !layout_seen {
        return Err(err("no oci-layout file: not an OCI image layout".into()));
    }
    let index = index.ok_or_else(|| err("no index.json".into()))?;
    let mut names = Vec::new();
    for descriptor in &index.manifests {
        let Some(name) = descriptor.annotations.get(REF_NAME) else {
            continue;
        };
        if store.read_blob(&descriptor.digest)?.is_none() {
            return Err(err(format!(
                "{name}: manifest {} is not in the tarball",
                descriptor.digest
            )));
        }
        store.set_ref(name, descriptor)?;
        names.push(name.clone());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::PolicyArtifact;

    fn stored_policy(store: &Store) -> String {
        let a = PolicyArtifact::build(
            b"\0asm-component".to_vec(),
            &serde_json::json!({"name": "p"}),
            Default::default(),
        );
        for bytes in [&a.config, &a.wasm, &a.manifest_bytes] {
            store.put_blob(bytes).unwrap();
        }
        let name = format!("r.io/p@{}", a.digest());
        store
            .set_ref(&name, &Descriptor::of(OCI_MANIFEST, &a.manifest_bytes))
            .unwrap();
        name
    }

    #[test]
    fn a_saved_layout_loads_into_an_empty_store() {
        let (a, b, t) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let source = Store::open(a.path()).unwrap();
        let name = stored_policy(&source);
        let tarball = t.path().join("b.tar");
        assert_eq!(
            save(&source, std::slice::from_ref(&name), &tarball).unwrap(),
            3
        );
        let target = Store::open(b.path()).unwrap();
        assert_eq!(load(&target, &tarball).unwrap(), vec![name.clone()]);
        assert!(target.get_ref(&name).unwrap().is_some());
    }

    #[test]
    fn an_altered_tarball_is_refused() {
        let (a, b, t) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let source = Store::open(a.path()).unwrap();
        let name = stored_policy(&source);
        let tarball = t.path().join("b.tar");
        save(&source, &[name], &tarball).unwrap();
        let mut bytes = std::fs::read(&tarball).unwrap();
        let at = bytes
            .windows(14)
            .position(|w| w == b"\0asm-component")
            .unwrap();
        bytes[at + 1] = b'A';
        std::fs::write(&tarball, bytes).unwrap();
        let err = load(&Store::open(b.path()).unwrap(), &tarball).unwrap_err();
        assert!(err.to_string().contains("altered"), "{err}");
    }
}
