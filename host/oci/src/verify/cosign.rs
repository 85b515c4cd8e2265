//! cosign's legacy signature format, key-based.
//!
//! The signature of manifest `sha256:H` is an OCI manifest tagged `sha256-H.sig`
//! in the same repository. Each layer (media type
//! `application/vnd.dev.cosign.simplesigning.v1+json`) is a "simple signing"
//! payload naming the signed digest; its annotation
//! `dev.cosignproject.cosign/signature` is the base64 ASN.1 ECDSA P-256 / SHA-256
//! signature of the layer's bytes.

use super::stores::CosignKey;
use super::{Rejection, SignatureCheck};
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, Manifest, OCI_MANIFEST};
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Layer media type of a simple-signing payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The annotation holding the signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The simple-signing `critical.type`.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// One signature layer found under a `.sig` tag.
#[derive(Debug, Clone)]
pub struct CosignLayer {
    /// The payload bytes (checked against the layer digest when fetched).
    pub payload: Vec<u8>,
    /// The base64 signature from the annotation.
    pub signature: String,
}

#[derive(Deserialize)]
struct SimpleSigning {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    digest: String,
}

/// The simple-signing payload cosign writes for `repository` (`REGISTRY/REPO`) at `digest`.
pub fn payload(repository: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": SIMPLE_SIGNING_TYPE,
        },
        "optional": null,
    }))
    .unwrap_or_default()
}

/// Reads a PEM ECDSA P-256 private key (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`).
pub fn read_signing_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    if text.contains("ENCRYPTED") {
        return Err(Error::Key {
            path: path.to_owned(),
            message: "encrypted keys are not supported: give an unencrypted PKCS#8 PEM P-256 key (e.g. `openssl ecparam -name prime256v1 -genkey | openssl pkcs8 -topk8 -nocrypt`)".into(),
        });
    }
    SigningKey::from_pkcs8_pem(&text)
        .or_else(|_| p256::SecretKey::from_sec1_pem(&text).map(SigningKey::from))
        .map_err(|_| Error::Key {
            path: path.to_owned(),
            message: "not a PEM ECDSA P-256 private key (PKCS#8 or SEC1)".into(),
        })
}

/// Signs a payload: base64 of the DER signature, as the annotation carries it.
pub fn sign(key: &SigningKey, payload: &[u8]) -> String {
    let signature: DerSignature = key.sign(payload);
    base64::engine::general_purpose::STANDARD.encode(signature.as_bytes())
}

/// The signature manifest: `previous` layers (if any) plus one new layer.
pub fn signature_manifest(
    previous: Option<&Manifest>,
    payload: &[u8],
    signature: &str,
) -> (Manifest, Vec<u8>) {
    let config = b"{}".to_vec();
    let mut layer = Descriptor::of(SIMPLE_SIGNING_MEDIA_TYPE, payload);
    layer.annotations = BTreeMap::from([(SIGNATURE_ANNOTATION.to_owned(), signature.to_owned())]);
    let mut layers: Vec<Descriptor> = previous
        .map(|m| {
            m.layers
                .iter()
                .filter(|l| l.digest != layer.digest || l.annotations != layer.annotations)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    layers.push(layer);
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_owned()),
        artifact_type: None,
        config: Descriptor::of("application/vnd.oci.image.config.v1+json", &config),
        layers,
        subject: None,
        annotations: BTreeMap::new(),
    };
    (manifest, config)
}

/// Checks one layer against the trusted keys and the manifest digest.
pub fn check(layer: &CosignLayer, keys: &[CosignKey], digest: &str) -> SignatureCheck {
    let what = "cosign signature (.sig tag)".to_owned();
    let Some(signature) = base64::engine::general_purpose::STANDARD
        .decode(layer.signature.trim())
        .ok()
        .and_then(|der| Signature::from_der(&der).ok())
    else {
        return SignatureCheck::rejected(
            what,
            Rejection::Invalid("the signature annotation is not base64 ASN.1 ECDSA".into()),
        );
    };
    let Some(key) = keys
        .iter()
        .find(|k| k.key.verify(&layer.payload, &signature).is_ok())
    else {
        let stores: Vec<String> = keys.iter().map(|k| k.store.to_string()).collect();
        return SignatureCheck::rejected(
            what,
            Rejection::Untrusted(format!(
                "not signed by a trusted key (trust stores: {})",
                dedup(stores).join(", ")
            )),
        );
    };
    let parsed: Option<SimpleSigning> = serde_json::from_slice(&layer.payload).ok();
    match parsed {
        Some(p) if p.critical.kind != SIMPLE_SIGNING_TYPE => SignatureCheck::rejected(
            what,
            Rejection::Invalid(format!(
                "payload type {:?} is not {SIMPLE_SIGNING_TYPE:?}",
                p.critical.kind
            )),
        ),
        Some(p) if p.critical.image.digest != digest => SignatureCheck::rejected(
            what,
            Rejection::WrongDigest(format!(
                "it signs {}, not this manifest {digest}",
                p.critical.image.digest
            )),
        ),
        Some(_) => SignatureCheck::trusted(
            what,
            key.store.clone(),
            format!("key {}", key.path.display()),
        ),
        None => SignatureCheck::rejected(
            what,
            Rejection::Invalid("the payload is not simple-signing JSON".into()),
        ),
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::super::trust::{StoreKind, StoreRef};
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_slice(&[seed; 32]).unwrap()
    }

    fn trusted(k: &SigningKey) -> Vec<CosignKey> {
        vec![CosignKey {
            store: StoreRef {
                kind: StoreKind::Cosign,
                name: "release".into(),
            },
            path: "k.pub".into(),
            key: *k.verifying_key(),
        }]
    }

    #[test]
    fn a_signature_by_a_trusted_key_over_this_digest_is_trusted() {
        let k = key(7);
        let p = payload("r.io/p", D);
        let check = check(
            &CosignLayer {
                signature: sign(&k, &p),
                payload: p,
            },
            &trusted(&k),
            D,
        );
        assert!(check.outcome.is_ok(), "{check:?}");
    }

    #[test]
    fn other_keys_and_other_digests_are_rejected() {
        let (k, other) = (key(7), key(9));
        let p = payload("r.io/p", D);
        let by_other = check(
            &CosignLayer {
                signature: sign(&other, &p),
                payload: p.clone(),
            },
            &trusted(&k),
            D,
        );
        assert!(matches!(by_other.outcome, Err(Rejection::Untrusted(_))));
        let other_digest = D.replace("0123", "3210");
        let p2 = payload("r.io/p", &other_digest);
        let wrong = check(
            &CosignLayer {
                signature: sign(&k, &p2),
                payload: p2,
            },
            &trusted(&k),
            D,
        );
        assert!(
            matches!(wrong.outcome, Err(Rejection::WrongDigest(_))),
            "{wrong:?}"
        );
    }
}
