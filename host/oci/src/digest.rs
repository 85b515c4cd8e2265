//! sha256 digests, as OCI writes them (`sha256:<64 hex>`).

use sha2::{Digest as _, Sha256};

/// The `sha256:` digest of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Is this `sha256:` followed by 64 lowercase hex digits?
pub fn is_sha256(digest: &str) -> bool {
    gate_core::bundle::is_sha256_digest(digest)
}

/// The hex part of a `sha256:` digest.
pub fn hex_part(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// The referrers tag schema's tag for a digest (`sha256-<hex>`).
pub fn referrers_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

/// cosign's legacy signature tag for a digest (`sha256-<hex>.sig`).
pub fn cosign_signature_tag(digest: &str) -> String {
    format!("{}.sig", referrers_tag(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_tags_follow_the_spec() {
        let d = sha256(b"");
        assert_eq!(
            d,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            cosign_signature_tag(&d),
            format!("sha256-{}.sig", hex_part(&d))
        );
        assert!(is_sha256(&d));
    }
}
