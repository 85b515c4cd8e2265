//! Keys: ECDSA P-256 signing keys (PKCS#8 PEM, or the encrypted format cosign
//! writes) and public keys (SubjectPublicKeyInfo PEM, as `cosign.pub`).

use crate::cosign_key;
use crate::error::{Error, Result};
use p256::ecdsa;
use p256::pkcs8::der::pem;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// PEM labels of the keys cosign generates (`cosign generate-key-pair`); the
/// first is the current one, the second what cosign wrote before.
const COSIGN_LABELS: [&str; 2] = [
    "ENCRYPTED SIGSTORE PRIVATE KEY",
    "ENCRYPTED COSIGN PRIVATE KEY",
];

/// A key that signs records.
pub struct SigningKey {
    key: ecdsa::SigningKey,
    keyid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, in any log.
        f.debug_struct("SigningKey")
            .field("keyid", &self.keyid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a PEM private key. `source_name` names it in errors (a file, or
    /// `GATE_ATTEST_KEY`); `password` decrypts a cosign key (cosign's own keys
    /// may have an empty password).
    pub fn from_pem(source_name: &str, text: &str, password: &[u8]) -> Result<SigningKey> {
        let key_error = |detail: String| Error::Key {
            source_name: source_name.to_owned(),
            detail,
        };
        let (label, der) = pem::decode_vec(text.trim().as_bytes())
            .map_err(|e| key_error(format!("not a PEM key: {e}")))?;
        let der = Zeroizing::new(der);
        let key = match label {
            "PRIVATE KEY" => pkcs8(&der).map_err(key_error)?,
            l if COSIGN_LABELS.contains(&l) => {
                let plain = cosign_key::decrypt(source_name, &der, password)?;
                pkcs8(&plain).map_err(key_error)?
            }
            "EC PRIVATE KEY" => {
                return Err(key_error(
                    "a SEC1 key (EC PRIVATE KEY): convert it to PKCS#8 with \
                     `openssl pkcs8 -topk8 -nocrypt -in KEY`"
                        .into(),
                ));
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Err(key_error(
                    "an encrypted PKCS#8 key: gate reads plain PKCS#8 and cosign's encrypted keys"
                        .into(),
                ));
            }
            other => {
                return Err(key_error(format!(
                    "a PEM {other:?} block: expected PRIVATE KEY (PKCS#8, ECDSA P-256) or a cosign key"
                )));
            }
        };
        let keyid = keyid(key.verifying_key()).map_err(key_error)?;
        Ok(SigningKey { key, keyid })
    }

    /// The key's identifier: the hex sha256 of its public key (DER SubjectPublicKeyInfo).
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The public key, as PEM SubjectPublicKeyInfo (what `--key` takes).
    pub fn public_key_pem(&self) -> Result<String> {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::Key {
                source_name: self.keyid.clone(),
                detail: format!("cannot encode the public key: {e}"),
            })
    }

    /// An ECDSA P-256 / SHA-256 signature of `message`, ASN.1 DER encoded.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer;
        let signature: ecdsa::Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }
}

/// A key that verifies records.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    key: ecdsa::VerifyingKey,
    keyid: String,
}

impl VerifyingKey {
    /// Reads a PEM public key (`-----BEGIN PUBLIC KEY-----`, ECDSA P-256).
    pub fn from_pem(source_name: &str, text: &str) -> Result<VerifyingKey> {
        let key_error = |detail: String| Error::Key {
            source_name: source_name.to_owned(),
            detail,
        };
        let key = ecdsa::VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| {
            key_error(format!(
                "not an ECDSA P-256 public key in PEM (SubjectPublicKeyInfo): {e}"
            ))
        })?;
        let keyid = keyid(&key).map_err(key_error)?;
        Ok(VerifyingKey { key, keyid })
    }

    /// The key's identifier: the hex sha256 of its DER SubjectPublicKeyInfo.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// Whether `signature` (DER) is this key's signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier;
        ecdsa::Signature::from_der(signature)
            .is_ok_and(|sig| self.key.verify(message, &sig).is_ok())
    }
}

fn pkcs8(der: &[u8]) -> Result<ecdsa::SigningKey, String> {
    ecdsa::SigningKey::from_pkcs8_der(der)
        .map_err(|e| format!("not an ECDSA P-256 PKCS#8 private key: {e}"))
}

fn keyid(key: &ecdsa::VerifyingKey) -> Result<String, String> {
    let der = key
        .to_public_key_der()
        .map_err(|e| format!("cannot encode the public key: {e}"))?;
    Ok(hex::encode(Sha256::digest(der.as_bytes())))
}
