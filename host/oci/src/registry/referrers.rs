//! The referrers of a manifest (signatures attached to it).

use super::Registry;
use super::transport::read_body;
use crate::digest;
use crate::error::{Error, Result};
use crate::manifest::{Index, MAX_MANIFEST_BYTES, OCI_INDEX};
use crate::reference::ArtifactRef;
use crate::retry::retry;

impl Registry {
    /// The referrers of a manifest: the OCI 1.1 referrers API, else the
    /// referrers tag schema (`sha256-<hex>`), else none.
    pub async fn fetch_referrers(&self, reference: &ArtifactRef, subject: &str) -> Result<Index> {
        let url = format!(
            "{}/v2/{}/referrers/{subject}",
            self.base_url(&reference.registry),
            reference.repository
        );
        let api = retry(&self.options.retry, || async {
            let response = self
                .get(reference, "list referrers", &url, Some(OCI_INDEX))
                .await?;
            let status = response.status();
            if !status.is_success() {
                return Ok(None);
            }
            let bytes = read_body(
                reference,
                "list referrers",
                response,
                MAX_MANIFEST_BYTES as u64,
                None,
            )
            .await?;
            Ok(serde_json::from_slice::<Index>(&bytes).ok())
        })
        .await?;
        if let Some(index) = api {
            return Ok(index);
        }
        let tag_ref = reference.at_tag(&digest::referrers_tag(subject));
        match self.fetch_manifest(&tag_ref).await? {
            Some(fetched) => serde_json::from_slice(&fetched.bytes).map_err(|e| Error::Artifact {
                reference: tag_ref.to_string(),
                message: format!("the referrers tag is not an OCI index: {e}"),
            }),
            None => Ok(Index::new()),
        }
    }
}
