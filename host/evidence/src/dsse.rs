//! DSSE (Dead Simple Signing Envelope) v1: the signed wrapper of a statement.
//! The signature covers the pre-authentication encoding (PAE) of the payload
//! type and the payload bytes, never the JSON of the envelope.

use crate::error::{Error, Result};
use crate::keys::{SigningKey, VerifyingKey};
use crate::statement::{PREDICATE_TYPE, STATEMENT_TYPE, Statement};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The payload type of an in-toto statement in DSSE.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A DSSE envelope, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// [`PAYLOAD_TYPE`].
    pub payload_type: String,
    /// The statement's JSON bytes, base64 (standard alphabet, padded).
    pub payload: String,
    /// Signatures; empty for an unsigned record.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The signer's key identifier (unauthenticated: a hint).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// The signature, base64; ECDSA P-256 / SHA-256, ASN.1 DER.
    pub sig: String,
}

/// What checking an envelope's signatures with a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// A signature verifies with the key.
    Verified {
        /// The key's identifier.
        keyid: String,
    },
    /// The record carries no signature (made with `--attest-unsigned`).
    Unsigned,
    /// No signature verifies with the key: it was signed by another key, or the
    /// payload was changed after signing.
    BadSignature {
        /// How many signatures were tried.
        signatures: usize,
    },
}

/// The pre-authentication encoding DSSE signs:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// An envelope around `payload`, signed with `key` when given.
    pub fn seal(payload: &[u8], key: Option<&SigningKey>) -> Envelope {
        let signatures = key
            .map(|key| EnvelopeSignature {
                keyid: key.keyid().to_owned(),
                sig: STANDARD.encode(key.sign(&pae(PAYLOAD_TYPE, payload))),
            })
            .into_iter()
            .collect();
        Envelope {
            payload_type: PAYLOAD_TYPE.to_owned(),
            payload: STANDARD.encode(payload),
            signatures,
        }
    }

    /// Parses a record file; `name` names it in errors.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Envelope> {
        let envelope: Envelope = serde_json::from_slice(bytes).map_err(|e| Error::Record {
            name: name.to_owned(),
            detail: format!(
                "not a DSSE envelope (JSON with payloadType, payload, signatures): {e}"
            ),
        })?;
        if envelope.payload_type != PAYLOAD_TYPE {
            return Err(Error::Record {
                name: name.to_owned(),
                detail: format!(
                    "payloadType is {:?}, not {PAYLOAD_TYPE:?}",
                    envelope.payload_type
                ),
            });
        }
        Ok(envelope)
    }

    /// The payload's bytes.
    pub fn payload_bytes(&self, name: &str) -> Result<Vec<u8>> {
        STANDARD.decode(&self.payload).map_err(|e| Error::Record {
            name: name.to_owned(),
            detail: format!("the payload is not base64: {e}"),
        })
    }

    /// The statement inside, checked to be an in-toto v1 statement of a gate
    /// evaluation. Says nothing of signatures: see [`Envelope::verify`].
    pub fn statement(&self, name: &str) -> Result<Statement> {
        let bytes = self.payload_bytes(name)?;
        let record_error = |detail: String| Error::Record {
            name: name.to_owned(),
            detail,
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| record_error(format!("the payload is not JSON: {e}")))?;
        if value["_type"] != STATEMENT_TYPE {
            return Err(record_error(format!(
                "the payload is not an in-toto Statement v1 (_type {})",
                value["_type"]
            )));
        }
        if value["predicateType"] != PREDICATE_TYPE {
            return Err(record_error(format!(
                "predicateType is {}, not {PREDICATE_TYPE:?}",
                value["predicateType"]
            )));
        }
        serde_json::from_value(value).map_err(|e| {
            record_error(format!(
                "the statement does not match {PREDICATE_TYPE}: {e}"
            ))
        })
    }

    /// Checks the signatures with `key`.
    pub fn verify(&self, name: &str, key: &VerifyingKey) -> Result<Verification> {
        if self.signatures.is_empty() {
            return Ok(Verification::Unsigned);
        }
        let message = pae(&self.payload_type, &self.payload_bytes(name)?);
        let verified = self.signatures.iter().any(|s| {
            STANDARD
                .decode(&s.sig)
                .is_ok_and(|sig| key.verifies(&message, &sig))
        });
        Ok(if verified {
            Verification::Verified {
                keyid: key.keyid().to_owned(),
            }
        } else {
            Verification::BadSignature {
                signatures: self.signatures.len(),
            }
        })
    }

    /// The envelope as pretty JSON, ending with a newline.
    pub fn to_json(&self) -> Result<String> {
        let mut text = serde_json::to_string_pretty(self).map_err(Error::Serialize)?;
        text.push('\n');
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_specification_example() {
        // The example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
