//! The encrypted private key format cosign writes (`cosign generate-key-pair`):
//! a PEM block whose body is JSON naming an scrypt KDF and a NaCl secretbox,
//! sealing the PKCS#8 DER of the key. The same format as go-tuf's `encrypted`
//! package; sigstore-rs reads it the same way.

use crate::error::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use serde::Deserialize;
use zeroize::Zeroizing;

/// The scrypt costs cosign writes (N = 2^15 or 2^16, r = 8, p = 1). Anything
/// else is refused before deriving: a hostile key file could otherwise ask for
/// gigabytes of memory.
const ALLOWED_LOG_N: [u8; 2] = [15, 16];
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

#[derive(Deserialize)]
struct Sealed {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: KdfParams,
    salt: String,
}

#[derive(Deserialize)]
struct KdfParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Decrypts the body of an encrypted cosign key; returns the PKCS#8 DER.
pub(crate) fn decrypt(
    source_name: &str,
    body: &[u8],
    password: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let fail = |detail: String| Error::Decrypt {
        source_name: source_name.to_owned(),
        detail,
    };
    let sealed: Sealed = serde_json::from_slice(body)
        .map_err(|e| fail(format!("not a cosign encrypted key: {e}")))?;
    if sealed.kdf.name != "scrypt" {
        return Err(fail(format!("unsupported KDF {:?}", sealed.kdf.name)));
    }
    if sealed.cipher.name != "nacl/secretbox" {
        return Err(fail(format!("unsupported cipher {:?}", sealed.cipher.name)));
    }
    let params = &sealed.kdf.params;
    let log_n = ALLOWED_LOG_N
        .into_iter()
        .find(|&log_n| 1u64 << log_n == params.n)
        .filter(|_| params.r == SCRYPT_R && params.p == SCRYPT_P)
        .ok_or_else(|| {
            fail(format!(
                "scrypt parameters N={} r={} p={} are not cosign's (N=32768 or 65536, r=8, p=1)",
                params.n, params.r, params.p
            ))
        })?;
    let decode = |field: &str, value: &str| {
        STANDARD
            .decode(value)
            .map_err(|e| fail(format!("{field} is not base64: {e}")))
    };
    let salt = decode("kdf.salt", &sealed.kdf.salt)?;
    let nonce = decode("cipher.nonce", &sealed.cipher.nonce)?;
    let ciphertext = decode("ciphertext", &sealed.ciphertext)?;
    if nonce.len() != 24 {
        return Err(fail(format!("the nonce is {} bytes, not 24", nonce.len())));
    }

    let scrypt_params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P)
        .map_err(|e| fail(format!("scrypt parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, &salt, &scrypt_params, key.as_mut())
        .map_err(|e| fail(format!("scrypt: {e}")))?;
    let cipher = XSalsa20Poly1305::new_from_slice(key.as_ref())
        .map_err(|e| fail(format!("secretbox key: {e}")))?;
    let nonce = Nonce::from_exact_iter(nonce.iter().copied())
        .ok_or_else(|| fail("the nonce is not 24 bytes".into()))?;
    cipher
        .decrypt(&nonce, ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| {
            fail(
                "wrong password, or the key was altered (set GATE_ATTEST_KEY_PASSWORD or COSIGN_PASSWORD)"
                    .into(),
            )
        })
}
