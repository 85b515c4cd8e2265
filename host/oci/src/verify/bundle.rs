//! Sigstore bundles (`application/vnd.dev.sigstore.bundle.v0.3+json`) attached as
//! referrers, verified with cosign public keys.
//!
//! Two contents are understood:
//! - `dsseEnvelope` with an in-toto statement (what cosign v3 writes): the
//!   signature is over the DSSE pre-authentication encoding, and the statement's
//!   `subject[].digest.sha256` must be the manifest digest;
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
    #[test]
    fn pae_follows_the_dsse_spec() {
        assert_eq!(
            super::pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
