//! Loading the trust stores a scope names.

use super::trust::{Scope, StoreKind, StoreRef};
use crate::error::{Error, Result};
use crate::reference::ArtifactRef;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use std::path::{Path, PathBuf};

/// A cosign public key and the store it came from.
#[derive(Debug, Clone)]
pub struct CosignKey {
    /// Its trust store.
    pub store: StoreRef,
    /// The file.
    pub path: PathBuf,
    /// The key.
    pub key: VerifyingKey,
}

/// The X.509 roots of one trust store.
#[derive(Debug, Clone)]
pub struct CertStore {
    /// Its trust store.
    pub store: StoreRef,
    /// DER certificates.
    pub certs: Vec<CertificateDer<'static>>,
}

/// Everything a scope trusts.
#[derive(Debug, Clone, Default)]
pub struct LoadedStores {
    /// cosign keys.
    pub keys: Vec<CosignKey>,
    /// X.509 roots, by store.
    pub certs: Vec<CertStore>,
}

/// Loads the scope's trust stores from `root`. A store that does not exist, or
/// holds nothing usable, refuses the artifact: its signatures cannot be trusted.
pub fn load(scope: &Scope, root: &Path, reference: &ArtifactRef) -> Result<LoadedStores> {
    let mut loaded = LoadedStores::default();
    for store in &scope.stores {
        let dir = store.dir(root);
        let files = files_in(&dir);
        if files.is_empty() {
            return Err(Error::refused(
                reference,
                format!(
                    "trust store {store} (scope {}) is unknown: no {} in {}",
                    scope.name,
                    if store.kind == StoreKind::Cosign {
                        "public keys"
                    } else {
                        "certificates"
                    },
                    dir.display()
                ),
            ));
        }
        match store.kind {
            StoreKind::Cosign => {
                for path in files {
                    let key = read_public_key(&path)?;
                    loaded.keys.push(CosignKey {
                        store: store.clone(),
                        path,
                        key,
                    });
                }
            }
            StoreKind::Ca | StoreKind::SigningAuthority => {
                let mut certs = Vec::new();
                for path in files {
                    certs.extend(read_certificates(&path)?);
                }
                loaded.certs.push(CertStore {
                    store: store.clone(),
                    certs,
                });
            }
        }
    }
    Ok(loaded)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Reads a PEM `PUBLIC KEY` (ECDSA P-256), as `cosign generate-key-pair` writes it.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    VerifyingKey::from_public_key_pem(&text).map_err(|e| Error::Key {
        path: path.to_owned(),
        message: format!("not a PEM ECDSA P-256 public key: {e}"),
    })
}

/// Reads PEM or DER certificates.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    if bytes.starts_with(b"-----") || bytes.iter().take(64).all(|b| b.is_ascii()) {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Key {
                path: path.to_owned(),
                message: format!("not PEM certificates: {e}"),
            })?;
        if certs.is_empty() {
            return Err(Error::Key {
                path: path.to_owned(),
                message: "no CERTIFICATE in this PEM file".into(),
            });
        }
        return Ok(certs);
    }
    Ok(vec![CertificateDer::from(bytes)])
}
