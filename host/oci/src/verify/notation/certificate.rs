//! The signing certificate of a Notation signature: Notation's requirements on
//! the leaf, its subject as `(attribute, value)` pairs, and the chain to a root of
//! a trust store.

use chrono::{DateTime, Utc};
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use std::collections::BTreeSet;
use webpki::{EndEntityCert, KeyUsage};

/// The code-signing extended key usage, 1.3.6.1.5.5.7.3.3.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// Checks what Notation requires of a signing (leaf) certificate: a critical key
/// usage extension with digitalSignature and no other purpose, not a CA, and, if
/// it has an extended key usage, code signing and none of the usages Notation
/// excludes. `Err` says what is wrong.
pub fn check_leaf(der: &[u8]) -> Result<(), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| "the leaf certificate cannot be parsed".to_owned())?;
    let usage = cert
        .key_usage()
        .map_err(|_| "the leaf's key usage extension is malformed or repeated".to_owned())?
        .ok_or("the leaf has no key usage extension (Notation requires digitalSignature)")?;
    if !usage.critical {
        return Err("the leaf's key usage extension is not marked critical".into());
    }
    if !usage.value.digital_signature() {
        return Err("the leaf's key usage lacks digitalSignature".into());
    }
    let other = [
        (usage.value.key_encipherment(), "keyEncipherment"),
        (usage.value.data_encipherment(), "dataEncipherment"),
        (usage.value.key_agreement(), "keyAgreement"),
        (usage.value.key_cert_sign(), "keyCertSign"),
        (usage.value.crl_sign(), "cRLSign"),
        (usage.value.encipher_only(), "encipherOnly"),
        (usage.value.decipher_only(), "decipherOnly"),
    ];
    if let Some((_, name)) = other.iter().find(|(set, _)| *set) {
        return Err(format!(
            "the leaf's key usage allows {name}: a signing certificate is for digitalSignature only"
        ));
    }
    let constraints = cert
        .basic_constraints()
        .map_err(|_| "the leaf's basic constraints are malformed or repeated".to_owned())?;
    if constraints.is_some_and(|c| c.value.ca) {
        return Err("the leaf is a CA certificate".into());
    }
    let extended = cert
        .extended_key_usage()
        .map_err(|_| "the leaf's extended key usage is malformed or repeated".to_owned())?;
    if let Some(extended) = extended {
        let eku = extended.value;
        let excluded = [
            (eku.any, "anyExtendedKeyUsage"),
            (eku.server_auth, "serverAuth"),
            (eku.client_auth, "clientAuth"),
            (eku.email_protection, "emailProtection"),
            (eku.time_stamping, "timeStamping"),
            (eku.ocsp_signing, "OCSPSigning"),
        ];
        if let Some((_, name)) = excluded.iter().find(|(set, _)| *set) {
            return Err(format!(
                "the leaf's extended key usage includes {name}, which Notation excludes"
            ));
        }
        if !eku.code_signing {
            return Err("the leaf's extended key usage lacks codeSigning".into());
        }
    }
    Ok(())
}

/// The leaf's subject as `(short name, value)` pairs (`CN`, `O`, `C`, ...).
/// An attribute that appears twice, or a multi-valued RDN, is refused, as
/// Notation refuses it: `CN=a, CN=b` must not match an identity of either.
pub fn subject_of(der: &[u8]) -> Result<BTreeSet<(String, String)>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| "the leaf certificate cannot be parsed".to_owned())?;
    let registry = x509_parser::objects::oid_registry();
    let mut seen = BTreeSet::new();
    let mut set = BTreeSet::new();
    for rdn in cert.subject().iter() {
        if rdn.iter().count() != 1 {
            return Err("the leaf's subject has a multi-valued RDN".into());
        }
        for attr in rdn.iter() {
            let name = x509_parser::objects::oid2abbrev(attr.attr_type(), registry)
                .map(str::to_owned)
                .unwrap_or_else(|_| attr.attr_type().to_id_string());
            let value = attr
                .as_str()
                .map_err(|_| format!("the leaf's subject {name} is not a string"))?
                .to_owned();
            if !seen.insert(name.clone()) {
                return Err(format!("the leaf's subject has {name} twice"));
            }
            set.insert((name, value));
        }
    }
    Ok(set)
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

/// Why a chain does not lead to a root.
pub enum ChainError {
    /// A certificate is not valid at the time asked about.
    Expired(String),
    /// No path to a root, or a certificate unfit for code signing.
    Untrusted(String),
}

/// Builds a path from `leaf` through `intermediates` to one of `roots`, valid at
/// `at`, with code-signing usage where the leaf restricts usage.
pub fn verify_chain(
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
