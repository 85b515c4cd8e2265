//! A distribution token service for the registry tests: basic auth in, ES256 JWT
//! (x5c) out, signed with a key made by the test. docker-registry in `auth: token`
//! mode checks these JWTs against the certificate written to `token-root.pem`.
#![allow(dead_code)]

use crate::fixtures::Workspace;
use crate::registry::{Auth, TestRegistry};

/// A distribution token service: basic auth in, ES256 JWT (x5c) out.
pub struct TokenService {
    key: p256::ecdsa::SigningKey,
    cert_der: Vec<u8>,
    /// The JWT issuer.
    pub issuer: String,
    /// The service (audience).
    pub service: String,
}

impl TokenService {
    /// A token service whose root certificate is written to `token-root.pem` in `ws`.
    pub fn new(ws: &Workspace, service: &str) -> TokenService {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "gate test token issuer");
        let cert = params.self_signed(&key_pair).expect("cert");
        std::fs::write(ws.path("token-root.pem"), cert.pem()).expect("root");
        use p256::pkcs8::DecodePrivateKey as _;
        TokenService {
            key: p256::ecdsa::SigningKey::from_pkcs8_pem(&key_pair.serialize_pem())
                .expect("p256 key"),
            cert_der: cert.der().to_vec(),
            issuer: "gate-test-issuer".into(),
            service: service.into(),
        }
    }

    /// A docker-registry in `auth: token` mode that trusts this service's tokens and
    /// sends clients to `realm` for them.
    pub fn registry(&self, ws: &Workspace, realm: &str) -> TestRegistry {
        TestRegistry::start(
            Auth::Token {
                realm: realm.to_owned(),
                service: self.service.clone(),
                issuer: self.issuer.clone(),
                root_cert: ws.path("token-root.pem"),
            },
            None,
        )
    }

    /// A JWT granting `scopes` (`repository:NAME:ACTIONS`).
    pub fn token(&self, scopes: &[String]) -> String {
        use base64::Engine as _;
        use p256::ecdsa::signature::Signer as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|s| {
                let mut parts = s.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect();
        let now = chrono::Utc::now().timestamp();
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&self.cert_der)]});
        let claims = serde_json::json!({"iss": self.issuer, "sub": "alice", "aud": self.service,
            "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("jti-{now}-{}", scopes.len()), "access": access});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature: p256::ecdsa::Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature.to_bytes()))
    }
}
