//! Sigstore bundles (`application/vnd.dev.sigstore.bundle.v0.3+json`) attached as
//! referrers, verified with cosign public keys.
//!
//! Two contents are understood:
//! - `dsseEnvelope` with an in-toto statement (what cosign v3 writes for
//!   `cosign sign`): the signature is over the DSSE pre-authentication encoding,
//!   the statement's `_type` must be [`IN_TOTO_STATEMENT_V1`] and its
//!   `predicateType` [`COSIGN_SIGN_PREDICATE`], and its `subject[].digest.sha256`
//!   must be the manifest digest. A statement with another predicate (an SBOM, a
//!   SLSA provenance) is an attestation, not a signature, even by a trusted key;
//! - `messageSignature`: the signature is over the manifest bytes, and
//!   `messageDigest` must be the manifest digest.
//!
//! Keyless bundles (a Fulcio certificate and Rekor entries) are reported as not
//! verified: gate does not check Fulcio/Rekor yet.

use super::stores::CosignKey;
use super::{Rejection, SignatureCheck};
use base64::Engine as _;
use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use serde::Deserialize;

/// Media types of Sigstore bundles.
pub const BUNDLE_MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// The in-toto DSSE payload type.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The statement `_type` cosign writes.
pub const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The `predicateType` of a cosign signature (`cosign sign`, v3 bundles).
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bundle {
    #[serde(default)]
    verification_material: Option<serde_json::Value>,
    #[serde(default)]
    dsse_envelope: Option<Envelope>,
    #[serde(default)]
    message_signature: Option<MessageSignature>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    sig: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSignature {
    message_digest: MessageDigest,
    signature: String,
}

#[derive(Deserialize)]
struct MessageDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    subject: Vec<Subject>,
}

#[derive(Deserialize)]
struct Subject {
    digest: std::collections::BTreeMap<String, String>,
}

/// DSSE's pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

fn b64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
        })
        .ok()
}

fn signature(bytes: &[u8]) -> Option<Signature> {
    Signature::from_der(bytes)
        .ok()
        .or_else(|| Signature::from_slice(bytes).ok())
}

/// Checks a bundle against the trusted keys and the manifest digest.
pub fn check(bytes: &[u8], keys: &[CosignKey], digest: &str) -> SignatureCheck {
    let what = "Sigstore bundle (referrer)".to_owned();
    let reject = |r: Rejection| SignatureCheck::rejected(what.clone(), r);
    let Ok(bundle) = serde_json::from_slice::<Bundle>(bytes) else {
        return reject(Rejection::Invalid("not a Sigstore bundle".into()));
    };
    let keyless = bundle
        .verification_material
        .as_ref()
        .is_some_and(|m| m.get("certificate").is_some() || m.get("x509CertificateChain").is_some());
    if keyless {
        return reject(Rejection::Unsupported(
            "keyless (Fulcio certificate) bundles are not verified by gate yet".into(),
        ));
    }
    let hex = crate::digest::hex_part(digest);
    if let Some(envelope) = bundle.dsse_envelope {
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return reject(Rejection::Invalid(format!(
                "DSSE payload type {:?}",
                envelope.payload_type
            )));
        }
        let Some(payload) = b64(&envelope.payload) else {
            return reject(Rejection::Invalid("DSSE payload is not base64".into()));
        };
        let message = pae(&envelope.payload_type, &payload);
        let sigs: Vec<Signature> = envelope
            .signatures
            .iter()
            .filter_map(|s| b64(&s.sig))
            .filter_map(|s| signature(&s))
            .collect();
        let Some(key) = keys
            .iter()
            .find(|k| sigs.iter().any(|s| k.key.verify(&message, s).is_ok()))
        else {
            return reject(Rejection::Untrusted("not signed by a trusted key".into()));
        };
        let Ok(statement) = serde_json::from_slice::<Statement>(&payload) else {
            return reject(Rejection::Invalid(
                "the DSSE payload is not an in-toto statement".into(),
            ));
        };
        if statement.kind != IN_TOTO_STATEMENT_V1 {
            return reject(Rejection::Invalid(format!(
                "the statement's _type is {:?}, not {IN_TOTO_STATEMENT_V1:?}",
                statement.kind
            )));
        }
        if statement.predicate_type != COSIGN_SIGN_PREDICATE {
            return reject(Rejection::Invalid(format!(
                "an attestation (predicateType {:?}), not a signature ({COSIGN_SIGN_PREDICATE:?})",
                statement.predicate_type
            )));
        }
        if !statement
            .subject
            .iter()
            .any(|s| s.digest.get("sha256").map(String::as_str) == Some(hex))
        {
            let signed: Vec<String> = statement
                .subject
                .iter()
                .filter_map(|s| s.digest.get("sha256"))
                .map(|h| format!("sha256:{h}"))
                .collect();
            return reject(Rejection::WrongDigest(format!(
                "it signs {}, not this manifest {digest}",
                signed.join(", ")
            )));
        }
        return SignatureCheck::trusted(
            what,
            key.store.clone(),
            format!("key {}", key.path.display()),
        );
    }
    if let Some(message) = bundle.message_signature {
        let (Some(signed), Some(sig)) = (
            b64(&message.message_digest.digest),
            b64(&message.signature).and_then(|s| signature(&s)),
        ) else {
            return reject(Rejection::Invalid("messageSignature is not base64".into()));
        };
        if message.message_digest.algorithm != "SHA2_256" {
            return reject(Rejection::Invalid(format!(
                "digest algorithm {:?}",
                message.message_digest.algorithm
            )));
        }
        let Some(key) = keys
            .iter()
            .find(|k| k.key.verify_prehash(&signed, &sig).is_ok())
        else {
            return reject(Rejection::Untrusted("not signed by a trusted key".into()));
        };
        if hex::encode(&signed) != hex {
            return reject(Rejection::WrongDigest(format!(
                "it signs sha256:{}, not this manifest {digest}",
                hex::encode(&signed)
            )));
        }
        return SignatureCheck::trusted(
            what,
            key.store.clone(),
            format!("key {}", key.path.display()),
        );
    }
    reject(Rejection::Invalid(
        "the bundle has neither dsseEnvelope nor messageSignature".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::trust::{StoreKind, StoreRef};
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn pae_follows_the_dsse_spec() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    fn key() -> SigningKey {
        SigningKey::from_slice(&[7; 32]).unwrap()
    }

    fn trusted() -> Vec<CosignKey> {
        vec![CosignKey {
            store: StoreRef {
                kind: StoreKind::Cosign,
                name: "release".into(),
            },
            path: "k.pub".into(),
            key: *key().verifying_key(),
        }]
    }

    /// A bundle whose DSSE envelope is signed by the trusted key.
    fn bundle(kind: &str, predicate_type: &str) -> Vec<u8> {
        let statement = serde_json::json!({
            "_type": kind,
            "subject": [{"name": "r.io/p", "digest": {"sha256": crate::digest::hex_part(D)}}],
            "predicateType": predicate_type,
            "predicate": {},
        })
        .to_string();
        let signature: Signature = key().sign(&pae(IN_TOTO_PAYLOAD_TYPE, statement.as_bytes()));
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        serde_json::to_vec(&serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": "k"}},
            "dsseEnvelope": {"payload": b64(statement.as_bytes()), "payloadType": IN_TOTO_PAYLOAD_TYPE,
                             "signatures": [{"sig": b64(&signature.to_der().to_bytes())}]},
        }))
        .unwrap()
    }

    #[test]
    fn a_cosign_signature_statement_by_a_trusted_key_is_trusted() {
        let check = check(
            &bundle(IN_TOTO_STATEMENT_V1, COSIGN_SIGN_PREDICATE),
            &trusted(),
            D,
        );
        assert!(check.outcome.is_ok(), "{check:?}");
    }

    #[test]
    fn an_attestation_by_the_trusted_key_is_not_a_signature() {
        for predicate in [
            "https://spdx.dev/Document",
            "https://cyclonedx.org/bom",
            "https://slsa.dev/provenance/v1",
            "",
        ] {
            let check = check(&bundle(IN_TOTO_STATEMENT_V1, predicate), &trusted(), D);
            assert!(
                matches!(&check.outcome, Err(Rejection::Invalid(m)) if m.contains("not a signature")),
                "{predicate}: {check:?}"
            );
        }
        for kind in [
            "https://in-toto.io/Statement/v0.1",
            "",
            "https://evil.example/Statement/v1",
        ] {
            let check = check(&bundle(kind, COSIGN_SIGN_PREDICATE), &trusted(), D);
            assert!(
                matches!(&check.outcome, Err(Rejection::Invalid(m)) if m.contains("_type")),
                "{kind}: {check:?}"
            );
        }
    }
}
