//! Test fixtures: a root CA and Notation signing certificates made with rcgen,
//! and JWS envelopes signed with their keys as notation-go lays them out. Times
//! are fixed: the root is valid 2020-2040, a leaf 2024-2026 unless a test says
//! otherwise, and the tests verify at [`now`] (mid-2025).

use super::notation::PAYLOAD_CONTENT_TYPE;
use super::stores::CertStore;
use super::trust::{StoreKind, StoreRef};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use rustls_pki_types::CertificateDer;

/// The digest the fixtures sign.
pub const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// When the tests verify: 2025-06-01.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// A root CA.
pub struct Root {
    /// Its certificate, DER.
    pub der: CertificateDer<'static>,
    /// Its certificate, PEM.
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Root {
    /// A new root named `cn`.
    pub fn new(cn: &str) -> Root {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2040, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        Root {
            der: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The trust store `ca:acme` holding this root.
    pub fn store(&self) -> Vec<CertStore> {
        vec![CertStore {
            store: StoreRef {
                kind: StoreKind::Ca,
                name: "acme".into(),
            },
            certs: vec![self.der.clone()],
        }]
    }

    /// A signing certificate issued by this root: `C=US, O=Acme, CN=release`,
    /// key usage digitalSignature, extended key usage codeSigning, 2024-2026;
    /// `adjust` changes what a test needs.
    pub fn leaf(&self, adjust: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CountryName, "US");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Acme");
        params
            .distinguished_name
            .push(DnType::CommonName, "release");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.not_before = date_time_ymd(2024, 1, 1);
        params.not_after = date_time_ymd(2026, 1, 1);
        adjust(&mut params);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            der: cert.der().clone(),
            key: SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap(),
            root: self.der.clone(),
        }
    }
}

/// A signing certificate and its key.
pub struct Leaf {
    der: CertificateDer<'static>,
    key: SigningKey,
    root: CertificateDer<'static>,
}

impl Leaf {
    /// An ES256 envelope over `digest` with notation-go's protected header
    /// (`notary.x509`, signed 2024-06-01), changed by `adjust`.
    pub fn envelope(&self, digest: &str, adjust: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut protected = serde_json::json!({
            "alg": "ES256",
            "crit": ["io.cncf.notary.signingScheme"],
            "cty": PAYLOAD_CONTENT_TYPE,
            "io.cncf.notary.signingScheme": "notary.x509",
            "io.cncf.notary.signingTime": "2024-06-01T00:00:00Z",
        });
        adjust(&mut protected);
        let payload = serde_json::json!({"targetArtifact": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 1}});
        let b64url = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let protected = b64url(protected.to_string().as_bytes());
        let payload = b64url(payload.to_string().as_bytes());
        let signature: p256::ecdsa::Signature =
            self.key.sign(format!("{protected}.{payload}").as_bytes());
        serde_json::to_vec(&serde_json::json!({
            "payload": payload,
            "protected": protected,
            "signature": b64url(&signature.to_bytes()),
            "header": {"x5c": [b64(&self.der), b64(&self.root)]},
        }))
        .unwrap()
    }
}

/// A protected header that also sets `io.cncf.notary.expiry` (listed in `crit`).
pub fn with_expiry(at: &str) -> impl FnOnce(&mut serde_json::Value) {
    let at = at.to_owned();
    move |header| {
        header["io.cncf.notary.expiry"] = serde_json::json!(at);
        header["crit"] =
            serde_json::json!(["io.cncf.notary.signingScheme", "io.cncf.notary.expiry"]);
    }
}
