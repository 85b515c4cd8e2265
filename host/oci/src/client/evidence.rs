//! The signatures of a manifest, found in the registry (or the store): the
//! cosign `.sig` tag and the referrers (API or tag schema).

use super::Client;
use crate::digest;
use crate::error::Result;
use crate::manifest::{Descriptor, Index, Manifest, OCI_INDEX};
use crate::reference::ArtifactRef;
use crate::verify::{Evidence, bundle, cosign, notation};

impl Client {
    async fn referrers(
        &self,
        reference: &ArtifactRef,
        digest: &str,
        online: bool,
    ) -> Result<Index> {
        let name = reference.at_tag(&digest::referrers_tag(digest)).to_string();
        if let (Some(registry), true) = (&self.registry, online) {
            let index = registry.fetch_referrers(reference, digest).await?;
            let bytes = serde_json::to_vec(&index).unwrap_or_default();
            let descriptor = Descriptor::of(OCI_INDEX, &bytes);
            self.store.write_blob(&descriptor.digest, &bytes)?;
            self.store.set_ref(&name, &descriptor)?;
            return Ok(index);
        }
        let Some(descriptor) = self.store.get_ref(&name)? else {
            return Ok(Index::new());
        };
        Ok(self
            .store
            .read_blob(&descriptor.digest)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default())
    }

    /// Every signature of `digest` in `reference`'s repository: the cosign `.sig`
    /// tag and the referrers (API or tag schema). What is found is kept in the store.
    pub async fn evidence(
        &self,
        reference: &ArtifactRef,
        digest: &str,
        online: bool,
    ) -> Result<Evidence> {
        let mut evidence = Evidence::default();
        let sig_ref = reference.at_tag(&digest::cosign_signature_tag(digest));
        if let Some((bytes, _)) = self.manifest_by_tag(&sig_ref, online).await? {
            let manifest = Manifest::parse(&sig_ref.to_string(), &bytes)?;
            // Kept so that saved layouts are complete; its content is not used.
            self.blob(reference, &manifest.config, online).await?;
            for layer in manifest
                .layers
                .iter()
                .filter(|l| l.media_type == cosign::SIMPLE_SIGNING_MEDIA_TYPE)
            {
                let Some(signature) = layer.annotations.get(cosign::SIGNATURE_ANNOTATION) else {
                    continue;
                };
                if let Some(payload) = self.blob(reference, layer, online).await? {
                    evidence.cosign.push(cosign::CosignLayer {
                        payload,
                        signature: signature.clone(),
                    });
                }
            }
        }
        let index = self.referrers(reference, digest, online).await?;
        for entry in &index.manifests {
            let Some(bytes) = self
                .manifest_by_digest(reference, &entry.digest, online)
                .await?
            else {
                continue;
            };
            let at = reference.at_digest(&entry.digest).to_string();
            let Ok(manifest) = Manifest::parse(&at, &bytes) else {
                continue;
            };
            self.blob(reference, &manifest.config, online).await?;
            let artifact_type = manifest
                .artifact_type
                .clone()
                .or_else(|| entry.artifact_type.clone())
                .unwrap_or_else(|| manifest.config.media_type.clone());
            for layer in &manifest.layers {
                let is_notation = artifact_type == notation::NOTATION_ARTIFACT_TYPE;
                let is_bundle = layer
                    .media_type
                    .starts_with(bundle::BUNDLE_MEDIA_TYPE_PREFIX);
                if is_notation && layer.media_type != notation::JWS_MEDIA_TYPE {
                    evidence.unsupported.push(format!(
                        "Notation signature in {} ({})",
                        at, layer.media_type
                    ));
                    continue;
                }
                if !(is_notation || is_bundle) {
                    continue;
                }
                let Some(blob) = self.blob(reference, layer, online).await? else {
                    continue;
                };
                if is_notation {
                    evidence.notation.push(blob);
                } else {
                    evidence.bundles.push(blob);
                }
            }
        }
        Ok(evidence)
    }
}
