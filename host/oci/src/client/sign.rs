//! Signing and attaching signatures: cosign's legacy `.sig` tag, and referrers.

use super::Client;
use crate::digest;
use crate::error::Result;
use crate::manifest::{Descriptor, Index, Manifest, OCI_INDEX, OCI_MANIFEST};
use crate::reference::ArtifactRef;
use crate::verify::cosign;
use p256::ecdsa::SigningKey;
use std::collections::BTreeMap;

impl Client {
    /// Signs `digest` in cosign's legacy format and pushes the signature to the
    /// `sha256-<hex>.sig` tag (keeping signatures already there). Returns that tag.
    pub async fn sign_cosign(
        &self,
        reference: &ArtifactRef,
        digest: &str,
        key: &SigningKey,
    ) -> Result<ArtifactRef> {
        let registry = self.registry(reference)?;
        let payload = cosign::payload(&reference.repository_path(), digest);
        let signature = cosign::sign(key, &payload);
        let sig_ref = reference.at_tag(&digest::cosign_signature_tag(digest));
        let previous = match registry.fetch_manifest(&sig_ref).await? {
            Some(fetched) => Some(Manifest::parse(&sig_ref.to_string(), &fetched.bytes)?),
            None => None,
        };
        let (manifest, config) =
            cosign::signature_manifest(previous.as_ref(), &payload, &signature);
        registry.push_blob(reference, &config).await?;
        registry.push_blob(reference, &payload).await?;
        registry
            .push_manifest(&sig_ref, &manifest.to_bytes(), OCI_MANIFEST)
            .await?;
        Ok(sig_ref)
    }

    /// Attaches an artifact (a signature) to `subject` as a referrer: pushes its
    /// manifest by digest and adds it to the referrers tag schema's index, for
    /// registries without the referrers API. Returns the referrer's digest.
    pub async fn attach_referrer(
        &self,
        reference: &ArtifactRef,
        subject: &Descriptor,
        artifact_type: &str,
        layer_media_type: &str,
        layer: &[u8],
        annotations: BTreeMap<String, String>,
    ) -> Result<String> {
        let registry = self.registry(reference)?;
        let empty = b"{}".to_vec();
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_owned()),
            artifact_type: Some(artifact_type.to_owned()),
            config: Descriptor::of(crate::manifest::OCI_EMPTY, &empty),
            layers: vec![Descriptor::of(layer_media_type, layer)],
            subject: Some(Descriptor {
                annotations: BTreeMap::new(),
                ..subject.clone()
            }),
            annotations: annotations.clone(),
        };
        registry.push_blob(reference, &empty).await?;
        registry.push_blob(reference, layer).await?;
        let bytes = manifest.to_bytes();
        let digest = registry
            .push_manifest(
                &reference.at_digest(&digest::sha256(&bytes)),
                &bytes,
                OCI_MANIFEST,
            )
            .await?;
        let tag_ref = reference.at_tag(&digest::referrers_tag(&subject.digest));
        let mut index = match registry.fetch_manifest(&tag_ref).await? {
            Some(fetched) => {
                serde_json::from_slice(&fetched.bytes).unwrap_or_else(|_| Index::new())
            }
            None => Index::new(),
        };
        let mut entry = Descriptor::of(OCI_MANIFEST, &bytes);
        entry.artifact_type = Some(artifact_type.to_owned());
        entry.annotations = annotations;
        index.manifests.retain(|d| d.digest != entry.digest);
        index.manifests.push(entry);
        let index_bytes = serde_json::to_vec(&index).unwrap_or_default();
        registry
            .push_manifest(&tag_ref, &index_bytes, OCI_INDEX)
            .await?;
        Ok(digest)
    }
}
