//! Writes through oci-client: blobs, manifests, and the tag list.

use super::Registry;
use super::transport::{classify, describe};
use crate::digest;
use crate::error::{Error, Result};
use crate::reference::ArtifactRef;
use crate::retry::{Attempt, retry};
use oci_client::RegistryOperation;

impl Registry {
    /// Pushes a blob unless the registry has it.
    pub async fn push_blob(&self, reference: &ArtifactRef, bytes: &[u8]) -> Result<String> {
        let digest = digest::sha256(bytes);
        let oref = reference.to_oci();
        self.prepare_push(reference).await?;
        let data = bytes::Bytes::copy_from_slice(bytes);
        retry(&self.options.retry, || {
            let data = data.clone();
            let oref = &oref;
            let digest = &digest;
            async move {
                if self.oci.blob_exists(oref, digest).await.unwrap_or(false) {
                    return Ok(());
                }
                self.oci
                    .push_blob(oref, data, digest)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(reference, "push blob", e))
            }
        })
        .await?;
        Ok(digest)
    }

    /// Pushes a manifest under the reference's tag (or digest); returns its digest.
    pub async fn push_manifest(
        &self,
        reference: &ArtifactRef,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<String> {
        let oref = reference.to_oci();
        self.prepare_push(reference).await?;
        let content_type =
            reqwest::header::HeaderValue::from_str(media_type).map_err(|_| Error::Artifact {
                reference: reference.to_string(),
                message: format!("bad media type {media_type:?}"),
            })?;
        let body = bytes::Bytes::copy_from_slice(bytes);
        retry(&self.options.retry, || {
            let body = body.clone();
            let content_type = content_type.clone();
            let oref = &oref;
            async move {
                self.oci
                    .push_manifest_raw(oref, body, content_type)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(reference, "push manifest", e))
            }
        })
        .await?;
        Ok(digest::sha256(bytes))
    }

    async fn prepare_push(&self, reference: &ArtifactRef) -> Result<()> {
        let auth = self.oci_auth(reference, RegistryOperation::Push).await?;
        retry(&self.options.retry, || async {
            self.oci
                .auth(&reference.to_oci(), &auth, RegistryOperation::Push)
                .await
                .map(|_| ())
                .map_err(|e| match classify(reference, "authenticate", e) {
                    Attempt::Fail(Error::Registry { message, .. }) => Attempt::Fail(Error::Auth {
                        registry: reference.registry.clone(),
                        message,
                    }),
                    other => other,
                })
        })
        .await
    }

    /// Lists a repository's tags (used to find signatures by tag).
    pub async fn tags(&self, reference: &ArtifactRef) -> Result<Vec<String>> {
        let auth = self.oci_auth(reference, RegistryOperation::Pull).await?;
        let response = self
            .oci
            .list_tags(&reference.to_oci(), &auth, None, None)
            .await
            .map_err(|e| Error::Registry {
                reference: reference.to_string(),
                operation: "list tags",
                message: describe(&e),
            })?;
        Ok(response.tags)
    }
}
