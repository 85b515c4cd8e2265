//! Notation signatures: JWS envelopes (`application/jose+json`) attached as
//! referrers with artifact type `application/vnd.cncf.notary.signature`.
//!
//! Checked, in Notation's order:
//! 1. integrity: the JWS signature verifies with the leaf certificate of `x5c`,
//!    and `targetArtifact.digest` is the manifest digest;
//! 2. authenticity: the chain (`x5c`) leads to a root of a trust store of the
//!    scope whose type matches the signing scheme (`notary.x509` → `ca`,
//!    `notary.x509.signingAuthority` → `signingAuthority`), with code-signing
//!    usage if the leaf restricts usage;
//! 3. expiry: the certificates are valid now, and `io.cncf.notary.expiry` (if
//!    set) has not passed;
//! 4. identity: the leaf's subject carries every attribute of a trusted identity.
//!
//! Not checked: revocation (OCSP/CRL) and RFC 3161 timestamps.

use super::stores::CertStore;
use super::trust::{Identity, Level, StoreKind};
use super::{Rejection, SignatureCheck};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use serde::Deserialize;
use std::collections::BTreeSet;
use webpki::{EndEntityCert, KeyUsage};

/// Artifact type of Notation signatures.
pub const NOTATION_ARTIFACT_TYPE: &str = "application/vnd.cncf.notary.signature";
/// Media type of a JWS envelope.
pub const JWS_MEDIA_TYPE: &str = "application/jose+json";
/// Media type of Notation's signed payload.
pub const PAYLOAD_CONTENT_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";

/// The code-signing extended key usage, 1.3.6.1.5.5.7.3.3.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

const KNOWN_CRITICAL: [&str; 3] = [
    "io.cncf.notary.signingScheme",
    "io.cncf.notary.expiry",
    "io.cncf.notary.authenticSigningTime",
];

#[derive(Deserialize)]
struct Envelope {
    payload: String,
    protected: String,
    signature: String,
    header: Unprotected,
}

#[derive(Deserialize)]
struct Unprotected {
    x5c: Vec<String>,
}

#[derive(Deserialize)]
struct Protected {
    alg: String,
    #[serde(default)]
    cty: String,
    #[serde(default)]
    crit: Vec<String>,
    #[serde(rename = "io.cncf.notary.signingScheme")]
    scheme: String,
    #[serde(rename = "io.cncf.notary.signingTime", default)]
    signing_time: Option<DateTime<Utc>>,
    #[serde(rename = "io.cncf.notary.authenticSigningTime", default)]
    authentic_signing_time: Option<DateTime<Utc>>,
    #[serde(rename = "io.cncf.notary.expiry", default)]
    expiry: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    target_artifact: Target,
}

#[derive(Deserialize)]
struct Target {
    digest: String,
}

fn b64url(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

fn algorithm(alg: &str) -> Option<(&'static dyn SignatureVerificationAlgorithm, bool)> {
    use webpki::ring as alg_;
    Some(match alg {
        "ES256" => (alg_::ECDSA_P256_SHA256, true),
        "ES384" => (alg_::ECDSA_P384_SHA384, true),
        "PS256" => (alg_::RSA_PSS_2048_8192_SHA256_LEGACY_KEY, false),
        "PS384" => (alg_::RSA_PSS_2048_8192_SHA384_LEGACY_KEY, false),
        "PS512" => (alg_::RSA_PSS_2048_8192_SHA512_LEGACY_KEY, false),
        _ => return None,
    })
}

/// JWS ECDSA signatures are `r || s`; webpki wants ASN.1 DER.
fn ecdsa_raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = Vec::new();
    for int in [r, s] {
        let first = int.iter().position(|b| *b != 0).unwrap_or(int.len() - 1);
        let int = &int[first..];
        body.push(0x02);
        let pad = int[0] & 0x80 != 0;
        der_len(&mut body, int.len() + usize::from(pad));
        if pad {
            body.push(0);
        }
        body.extend_from_slice(int);
    }
    let mut out = vec![0x30];
    der_len(&mut out, body.len());
    out.extend(body);
    Some(out)
}

fn der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x81);
        out.push(len as u8);
    }
}

/// Checks one envelope.
pub fn check(
    envelope: &[u8],
    stores: &[CertStore],
    identities: &[Identity],
    digest: &str,
    level: Level,
    now: DateTime<Utc>,
) -> SignatureCheck {
    let what = "Notation signature (referrer)".to_owned();
    let reject = |r: Rejection| SignatureCheck::rejected(what.clone(), r);
    let Ok(envelope) = serde_json::from_slice::<Envelope>(envelope) else {
        return reject(Rejection::Invalid(
            "not a JWS JSON envelope with an x5c header".into(),
        ));
    };
    let Some(protected) =
        b64url(&envelope.protected).and_then(|b| serde_json::from_slice::<Protected>(&b).ok())
    else {
        return reject(Rejection::Invalid(
            "the protected header is not Notation's".into(),
        ));
    };
    if protected.cty != PAYLOAD_CONTENT_TYPE {
        return reject(Rejection::Invalid(format!(
            "content type {:?} is not {PAYLOAD_CONTENT_TYPE}",
            protected.cty
        )));
    }
    if !protected
        .crit
        .iter()
        .any(|c| c == "io.cncf.notary.signingScheme")
    {
        return reject(Rejection::Invalid(
            "crit does not name io.cncf.notary.signingScheme".into(),
        ));
    }
    if let Some(unknown) = protected
        .crit
        .iter()
        .find(|c| !KNOWN_CRITICAL.contains(&c.as_str()))
    {
        return reject(Rejection::Unsupported(format!(
            "critical header {unknown:?} is not understood"
        )));
    }
    let kind = match protected.scheme.as_str() {
        "notary.x509" => StoreKind::Ca,
        "notary.x509.signingAuthority" => StoreKind::SigningAuthority,
        other => return reject(Rejection::Unsupported(format!("signing scheme {other:?}"))),
    };
    let Some((alg, raw_ecdsa)) = algorithm(&protected.alg) else {
        return reject(Rejection::Unsupported(format!(
            "algorithm {:?}",
            protected.alg
        )));
    };
    let certs: Option<Vec<CertificateDer<'static>>> = envelope
        .header
        .x5c
        .iter()
        .map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(c)
                .ok()
                .map(CertificateDer::from)
        })
        .collect();
    let Some(certs) = certs.filter(|c| !c.is_empty()) else {
        return reject(Rejection::Invalid("x5c is empty or not base64".into()));
    };
    let Ok(leaf) = EndEntityCert::try_from(&certs[0]) else {
        return reject(Rejection::Invalid(
            "the leaf certificate cannot be parsed".into(),
        ));
    };

    // 1. Integrity.
    let signing_input = format!("{}.{}", envelope.protected, envelope.payload);
    let Some(mut signature) = b64url(&envelope.signature) else {
        return reject(Rejection::Invalid("the signature is not base64url".into()));
    };
    if raw_ecdsa {
        match ecdsa_raw_to_der(&signature) {
            Some(der) => signature = der,
            None => return reject(Rejection::Invalid("malformed ECDSA signature".into())),
        }
    }
    if leaf
        .verify_signature(alg, signing_input.as_bytes(), &signature)
        .is_err()
    {
        return reject(Rejection::Invalid(
            "the JWS signature does not verify with the x5c leaf certificate".into(),
        ));
    }
    let Some(payload) =
        b64url(&envelope.payload).and_then(|b| serde_json::from_slice::<Payload>(&b).ok())
    else {
        return reject(Rejection::Invalid(
            "the payload is not a Notation payload".into(),
        ));
    };
    if payload.target_artifact.digest != digest {
        return reject(Rejection::WrongDigest(format!(
            "it signs {}, not this manifest {digest}",
            payload.target_artifact.digest
        )));
    }

    // 2 and 3. Authenticity and expiry.
    let candidates: Vec<&CertStore> = stores.iter().filter(|s| s.store.kind == kind).collect();
    if candidates.is_empty() {
        return reject(Rejection::Untrusted(format!(
            "signing scheme {} needs a trust store of type {}, and the scope has none",
            protected.scheme,
            if kind == StoreKind::Ca {
                "ca"
            } else {
                "signingAuthority"
            }
        )));
    }
    let signed_at = protected.authentic_signing_time.or(protected.signing_time);
    let mut notes = Vec::new();
    let mut trusted_by = None;
    let mut last_error = String::new();
    for store in candidates {
        match verify_chain(&leaf, &certs[1..], &store.certs, now) {
            Ok(()) => {
                trusted_by = Some(store.store.clone());
                break;
            }
            Err(ChainError::Expired(why)) => {
                let at_signing = signed_at
                    .is_some_and(|t| verify_chain(&leaf, &certs[1..], &store.certs, t).is_ok());
                if level != Level::Strict && at_signing {
                    notes.push(format!(
                        "certificate {why} (level {level:?}: logged, not enforced)"
                    ));
                    trusted_by = Some(store.store.clone());
                    break;
                }
                return reject(Rejection::Expired(format!("certificate {why}")));
            }
            Err(ChainError::Untrusted(why)) => last_error = format!("{}: {why}", store.store),
        }
    }
    let Some(store) = trusted_by else {
        return reject(Rejection::Untrusted(format!(
            "the certificate chain leads to no trusted root ({last_error})"
        )));
    };
    if let Some(expiry) = protected.expiry.filter(|expiry| *expiry < now) {
        if level == Level::Strict {
            return reject(Rejection::Expired(format!(
                "the signature expired at {expiry}"
            )));
        }
        notes.push(format!(
            "the signature expired at {expiry} (level {level:?}: logged, not enforced)"
        ));
    }

    // 4. Identity.
    let subject = match subject_of(&certs[0]) {
        Some(subject) => subject,
        None => {
            return reject(Rejection::Invalid(
                "the leaf certificate's subject cannot be read".into(),
            ));
        }
    };
    let identity_ok = identities.iter().any(|identity| match identity {
        Identity::Any => true,
        Identity::Subject(wanted) => wanted.is_subset(&subject),
    });
    if !identity_ok {
        let shown: Vec<String> = subject.iter().map(|(k, v)| format!("{k}={v}")).collect();
        return reject(Rejection::Untrusted(format!(
            "signer {} is not a trusted identity",
            shown.join(", ")
        )));
    }
    let mut check = SignatureCheck::trusted(
        what,
        store,
        format!(
            "certificate {}",
            subject
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    check.notes = notes;
    check
}

/// Signature algorithms accepted in certificate chains.
const CHAIN_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

enum ChainError {
    Expired(String),
    Untrusted(String),
}

fn verify_chain(
    leaf: &EndEntityCert<'_>,
    intermediates: &[CertificateDer<'static>],
    roots: &[CertificateDer<'static>],
    at: DateTime<Utc>,
) -> Result<(), ChainError> {
    let anchors: Vec<_> = roots
        .iter()
        .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
        .collect();
    let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));
    match leaf.verify_for_usage(
        CHAIN_ALGS,
        &anchors,
        intermediates,
        time,
        KeyUsage::required_if_present(CODE_SIGNING),
        None,
        None,
    ) {
        Ok(_) => Ok(()),
        Err(webpki::Error::CertExpired { not_after, .. }) => Err(ChainError::Expired(format!(
            "expired at {}",
            DateTime::<Utc>::from_timestamp(not_after.as_secs() as i64, 0)
                .map_or_else(|| "?".into(), |t| t.to_rfc3339())
        ))),
        Err(webpki::Error::CertNotValidYet { .. }) => {
            Err(ChainError::Expired("is not valid yet".into()))
        }
        Err(e) => Err(ChainError::Untrusted(format!("{e:?}"))),
    }
}

/// The leaf's subject as `(short name, value)` pairs (`CN`, `O`, `C`, ...).
fn subject_of(der: &[u8]) -> Option<BTreeSet<(String, String)>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let registry = x509_parser::objects::oid_registry();
    let mut set = BTreeSet::new();
    for rdn in cert.subject().iter() {
        for attr in rdn.iter() {
            let name = x509_parser::objects::oid2abbrev(attr.attr_type(), registry)
                .map(str::to_owned)
                .unwrap_or_else(|_| attr.attr_type().to_id_string());
            let value = attr.as_str().ok()?.to_owned();
            set.insert((name, value));
        }
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ecdsa_signatures_become_der() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80;
        raw[63] = 1;
        let der = ecdsa_raw_to_der(&raw).unwrap();
        // SEQUENCE { INTEGER 00 80 00.. (33 bytes), INTEGER 01 }
        assert_eq!(&der[..5], &[0x30, 38, 0x02, 33, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 1, 1]);
    }
}
