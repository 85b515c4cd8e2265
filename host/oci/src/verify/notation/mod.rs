//! Notation signatures: JWS envelopes (`application/jose+json`) attached as
//! referrers with artifact type `application/vnd.cncf.notary.signature`.
//!
//! Checked, in Notation's order (see the crate README for what each trust level
//! enforces):
//! 1. the protected header ([`header`]): `cty`, `crit`, the signing scheme and its
//!    signing time; `io.cncf.notary.expiry` only when listed in `crit`;
//! 2. integrity: the JWS signature verifies with the leaf certificate of `x5c`,
//!    and `targetArtifact.digest` is the manifest digest;
//! 3. the leaf is a signing certificate as Notation requires ([`certificate`]):
//!    key usage digitalSignature (critical, nothing else), not a CA, code signing
//!    if it restricts extended usage; its subject has no attribute twice;
//! 4. authenticity: the chain (`x5c`) leads to a root of a trust store of the
//!    scope whose type matches the signing scheme (`notary.x509` → `ca`,
//!    `notary.x509.signingAuthority` → `signingAuthority`);
//! 5. expiry: the certificates are valid now, and `io.cncf.notary.expiry` (if
//!    set) has not passed;
//! 6. identity: the leaf's subject carries every attribute of a trusted identity.
//!
//! Not checked: revocation (OCSP/CRL) and RFC 3161 timestamps.

mod certificate;
pub mod header;
#[cfg(test)]
mod tests;

use super::stores::CertStore;
use super::trust::{Identity, Level, StoreKind};
use super::{Rejection, SignatureCheck};
use base64::Engine as _;
use certificate::{ChainError, check_leaf, subject_of, verify_chain};
use chrono::{DateTime, Utc};
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use serde::Deserialize;
use webpki::EndEntityCert;

pub use header::PAYLOAD_CONTENT_TYPE;

/// Artifact type of Notation signatures.
pub const NOTATION_ARTIFACT_TYPE: &str = "application/vnd.cncf.notary.signature";
/// Media type of a JWS envelope.
pub const JWS_MEDIA_TYPE: &str = "application/jose+json";

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

/// Checks one envelope at `level` (strict, permissive or audit; skip never gets
/// here). Only a signature that verifies and chains to a trusted root can be
/// trusted at any level; the levels decide which of its later checks (expiry,
/// identity) are enforced and which are logged as notes.
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
    let Some(protected_bytes) = b64url(&envelope.protected) else {
        return reject(Rejection::Invalid(
            "the protected header is not base64url".into(),
        ));
    };
    let protected = match header::parse(&protected_bytes) {
        Ok(protected) => protected,
        Err(why) => return reject(why),
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

    // Integrity.
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

    // The signing certificate.
    if let Err(why) = check_leaf(&certs[0]) {
        return reject(Rejection::Untrusted(format!(
            "not a Notation signing certificate: {why}"
        )));
    }
    let subject = match subject_of(&certs[0]) {
        Ok(subject) => subject,
        Err(why) => return reject(Rejection::Invalid(why)),
    };

    // Authenticity and certificate expiry.
    let kind = protected.store_kind;
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
                // Expired now: the chain must still have been valid, and trusted,
                // when it signed; only then may a lenient level log it.
                let at_signing = protected
                    .signed_at
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

    // Signature expiry.
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

    // Identity.
    let shown = subject
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let identity_ok = identities.iter().any(|identity| match identity {
        Identity::Any => true,
        Identity::Subject(wanted) => wanted.is_subset(&subject),
    });
    if !identity_ok {
        if level != Level::Audit {
            return reject(Rejection::Untrusted(format!(
                "signer {shown} is not a trusted identity"
            )));
        }
        notes.push(format!(
            "signer {shown} is not a trusted identity (level audit: logged, not enforced)"
        ));
    }
    let mut check = SignatureCheck::trusted(what, store, format!("certificate {shown}"));
    check.notes = notes;
    check
}

#[cfg(test)]
mod der_tests {
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
