//! Reads by digest or tag, with our own digest checks and retries.

use super::Registry;
use super::transport::read_body;
use crate::digest;
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES};
use crate::progress::Progress;
use crate::reference::ArtifactRef;
use crate::retry::{Attempt, retry};
use reqwest::StatusCode;

/// A manifest as fetched: exact bytes and their digest.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Their sha256 (checked against the reference's digest, if pinned).
    pub digest: String,
    /// The media type the registry declared.
    pub media_type: String,
}

impl Registry {
    /// Fetches a manifest by digest or tag. `None` if the registry has none.
    /// A pinned reference's digest is checked against the bytes.
    pub async fn fetch_manifest(&self, reference: &ArtifactRef) -> Result<Option<FetchedManifest>> {
        let key = reference.manifest_key().ok_or_else(|| Error::Reference {
            reference: reference.to_string(),
            message: "needs a tag or a digest".into(),
        })?;
        let url = format!(
            "{}/v2/{}/manifests/{key}",
            self.base_url(&reference.registry),
            reference.repository
        );
        retry(&self.options.retry, || async {
            let response = self
                .get(reference, "pull manifest", &url, Some(MANIFEST_ACCEPT))
                .await?;
            let status = response.status();
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(Attempt::Fail(Error::Registry {
                    reference: reference.to_string(),
                    operation: "pull manifest",
                    message: format!("HTTP {status}"),
                }));
            }
            let media_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let bytes = read_body(
                reference,
                "pull manifest",
                response,
                MAX_MANIFEST_BYTES as u64,
                None,
            )
            .await?;
            let actual = digest::sha256(&bytes);
            if let Some(expected) = &reference.digest
                && &actual != expected
            {
                return Err(Attempt::Fail(Error::DigestMismatch {
                    reference: reference.to_string(),
                    what: "manifest".into(),
                    expected: expected.clone(),
                    actual,
                }));
            }
            Ok(Some(FetchedManifest {
                bytes,
                digest: actual,
                media_type,
            }))
        })
        .await
    }

    /// Fetches a blob and checks its size and digest against the descriptor.
    /// Short or corrupted bodies are retried, then refused.
    pub async fn fetch_blob(
        &self,
        reference: &ArtifactRef,
        descriptor: &Descriptor,
    ) -> Result<Vec<u8>> {
        if !digest::is_sha256(&descriptor.digest) {
            return Err(Error::Artifact {
                reference: reference.to_string(),
                message: format!("blob digest {:?} is not a sha256 digest", descriptor.digest),
            });
        }
        let url = format!(
            "{}/v2/{}/blobs/{}",
            self.base_url(&reference.registry),
            reference.repository,
            descriptor.digest
        );
        let blob_ref = reference.at_digest(&descriptor.digest);
        retry(&self.options.retry, || async {
            let response = self.get(reference, "pull blob", &url, None).await?;
            let status = response.status();
            if !status.is_success() {
                return Err(Attempt::Fail(Error::Registry {
                    reference: blob_ref.to_string(),
                    operation: "pull blob",
                    message: format!("HTTP {status}"),
                }));
            }
            let progress = Progress::new(
                &format!("pulling {}", descriptor.digest),
                descriptor.size,
                self.options.progress,
            );
            let bytes = read_body(
                &blob_ref,
                "pull blob",
                response,
                descriptor.size,
                Some(progress),
            )
            .await?;
            let actual = digest::sha256(&bytes);
            if bytes.len() as u64 != descriptor.size || actual != descriptor.digest {
                // A truncated or corrupted transfer looks the same as tampering: retry,
                // and refuse if it persists.
                return Err(Attempt::Retry {
                    error: Error::DigestMismatch {
                        reference: blob_ref.to_string(),
                        what: format!("blob ({} of {} bytes)", bytes.len(), descriptor.size),
                        expected: descriptor.digest.clone(),
                        actual,
                    },
                    after: None,
                });
            }
            Ok(bytes)
        })
        .await
    }
}
