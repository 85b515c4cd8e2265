//! `sha256:<hex>` digests, as Flux writes them in `status.artifact.digest`.

use crate::error::{Error, Result};
use sha2::{Digest as _, Sha256};

/// A sha256 digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// Parses `sha256:<64 hex digits>`. Flux also accepts a bare hex string as
    /// sha256; so does this. Other algorithms (sha384, sha512, blake3) are refused:
    /// gate cannot verify them, and an unverified artifact is never judged.
    pub fn parse(text: &str) -> Result<Sha256Digest> {
        let hex_part = match text.split_once(':') {
            Some(("sha256", hex_part)) => hex_part,
            Some(_) => {
                return Err(Error::DigestFormat {
                    digest: text.to_owned(),
                });
            }
            None => text,
        };
        let mut bytes = [0u8; 32];
        // Lowercase only, as Go's digest package writes and checks it.
        if hex_part.len() != 64 || hex_part.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(Error::DigestFormat {
                digest: text.to_owned(),
            });
        }
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| Error::DigestFormat {
            digest: text.to_owned(),
        })?;
        Ok(Sha256Digest(bytes))
    }

    /// The digest of some bytes.
    pub fn of(bytes: &[u8]) -> Sha256Digest {
        Sha256Digest(Sha256::digest(bytes).into())
    }

    /// The 64 hex digits, without the algorithm.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

/// Hashes bytes as they stream past.
#[derive(Default)]
pub struct Hasher(Sha256);

impl Hasher {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of everything added.
    pub fn finish(self) -> Sha256Digest {
        Sha256Digest(self.0.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_prints_the_flux_form() {
        let digest = Sha256Digest::parse(EMPTY).unwrap();
        assert_eq!(digest, Sha256Digest::of(b""));
        assert_eq!(digest.to_string(), EMPTY);
        assert_eq!(Sha256Digest::parse(&EMPTY[7..]).unwrap(), digest);
    }

    #[test]
    fn refuses_what_it_cannot_verify() {
        for bad in [
            "",
            "sha256:",
            "sha256:abc",
            &format!("sha512:{}", &EMPTY[7..]),
            &format!("blake3:{}", &EMPTY[7..]),
            &EMPTY.to_uppercase()[..],
            &format!("sha256:{}", EMPTY[7..].to_uppercase()),
            &format!("{EMPTY}00"),
            &format!("sha256:{}zz", &EMPTY[7..69]),
        ] {
            assert!(Sha256Digest::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn streaming_hash_equals_one_shot() {
        let mut hasher = Hasher::default();
        hasher.update(b"hello ");
        hasher.update(b"world");
        assert_eq!(hasher.finish(), Sha256Digest::of(b"hello world"));
    }
}
