//! Writes through oci-client: blobs, manifests, and the tag list.

use super::Registry;
use crate::digest;
use crate::error::{Error, Result};
use crate::reference::ArtifactRef;
use crate::retry::{Attempt, retry};
use oci_client::RegistryOperation;
use oci_client::secrets::RegistryAuth;

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
                    .map_err(|e| self.classify(reference, "push blob", e))
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
                    .map_err(|e| self.classify(reference, "push manifest", e))
            }
        })
        .await?;
        Ok(digest::sha256(bytes))
    }

    /// Hands oci-client what to present for pushing to `reference`. A bearer token
    /// (pull and push) also serves oci-client's reads of that repository, so it is
    /// given for both: oci-client never goes to a token service itself.
    async fn prepare_push(&self, reference: &ArtifactRef) -> Result<()> {
        let auth = self.oci_auth(reference, RegistryOperation::Push).await?;
        let mut ops = vec![RegistryOperation::Push];
        if matches!(auth, RegistryAuth::Bearer(_)) {
            ops.push(RegistryOperation::Pull);
        }
        for op in ops {
            retry(&self.options.retry, || async {
                self.oci
                    .auth(&reference.to_oci(), &auth, op)
                    .await
                    .map(|_| ())
                    .map_err(|e| match self.classify(reference, "authenticate", e) {
                        Attempt::Fail(Error::Registry { message, .. }) => {
                            Attempt::Fail(Error::Auth {
                                registry: reference.registry.clone(),
                                message,
                            })
                        }
                        other => other,
                    })
            })
            .await?;
        }
        Ok(())
    }
}
