//! The signatures of a manifest, found in the registry (or the store): the
//! cosign `.sig` tag and the referrers (API or tag schema).

use super::Client;
use crate::digest;
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, Index, Manifest, OCI_INDEX};
use crate::reference::ArtifactRef;
use crate::verify::{Evidence, bundle, cosign, notation};

/// The largest signature blob gate reads (a simple-signing payload, a Sigstore
/// bundle, a Notation envelope, their manifests' config), whatever the manifest
/// that lists it claims.
pub const MAX_EVIDENCE_BLOB_BYTES: u64 = 1 << 20;

/// The most signature referrers read for one manifest.
pub const MAX_REFERRERS: usize = 64;

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
    /// A signature that cannot be read (malformed, missing, over the size cap) is
    /// recorded as unusable and does not stop the others from being read; an
    /// unreachable registry is an error. The whole search has the pull deadline.
    pub async fn evidence(
        &self,
        reference: &ArtifactRef,
        digest: &str,
        online: bool,
    ) -> Result<Evidence> {
        self.within_deadline(reference, self.find_evidence(reference, digest, online))
            .await
    }

    /// [`Client::evidence`] without its own deadline (the caller has one).
    pub(super) async fn find_evidence(
        &self,
        reference: &ArtifactRef,
        digest: &str,
        online: bool,
    ) -> Result<Evidence> {
        let mut evidence = Evidence::default();
        let sig_ref = reference.at_tag(&digest::cosign_signature_tag(digest));
        match self.manifest_by_tag(&sig_ref, online).await {
            Ok(Some((bytes, _))) => {
                self.cosign_evidence(reference, &sig_ref, &bytes, online, &mut evidence)
                    .await;
            }
            Ok(None) => {}
            Err(e @ Error::Registry { .. }) => return Err(e),
            Err(e) => evidence.add_unusable(format!("cosign signature manifest {sig_ref}"), e),
        }
        let index = match self.referrers(reference, digest, online).await {
            Ok(index) => index,
            Err(e @ Error::Registry { .. }) => return Err(e),
            Err(e) => {
                evidence.add_unusable(format!("the referrers of {digest}"), e);
                Index::new()
            }
        };
        let candidates = index.manifests.iter().filter(|entry| {
            // The index says what each referrer is: SBOMs and the like are not fetched.
            entry.artifact_type.as_deref().is_none_or(is_signature_type)
        });
        for (n, entry) in candidates.enumerate() {
            if n == MAX_REFERRERS {
                evidence.add_unusable(
                    format!("the referrers of {digest}"),
                    format!("more than {MAX_REFERRERS} signatures: the rest were not read"),
                );
                break;
            }
            let at = reference.at_digest(&entry.digest);
            if let Err(e) = self
                .referrer_evidence(reference, &at, entry, online, &mut evidence)
                .await
            {
                evidence.add_unusable(format!("referrer {at}"), e);
            }
        }
        Ok(evidence)
    }

    /// The layers of the cosign `.sig` manifest; each unreadable one is unusable.
    async fn cosign_evidence(
        &self,
        reference: &ArtifactRef,
        sig_ref: &ArtifactRef,
        bytes: &[u8],
        online: bool,
        evidence: &mut Evidence,
    ) {
        let manifest = match Manifest::parse(&sig_ref.to_string(), bytes) {
            Ok(manifest) => manifest,
            Err(e) => {
                return evidence.add_unusable(format!("cosign signature manifest {sig_ref}"), e);
            }
        };
        // Kept so that saved layouts are complete; its content is not used.
        if let Err(e) = self
            .evidence_blob(reference, &manifest.config, online)
            .await
        {
            evidence.add_unusable(format!("the config of {sig_ref}"), e);
        }
        for layer in manifest
            .layers
            .iter()
            .filter(|l| l.media_type == cosign::SIMPLE_SIGNING_MEDIA_TYPE)
        {
            let Some(signature) = layer.annotations.get(cosign::SIGNATURE_ANNOTATION) else {
                continue;
            };
            match self.evidence_blob(reference, layer, online).await {
                Ok(Some(payload)) => evidence.cosign.push(cosign::CosignLayer {
                    payload,
                    signature: signature.clone(),
                }),
                Ok(None) => {}
                Err(e) => evidence
                    .add_unusable(format!("cosign signature {} in {sig_ref}", layer.digest), e),
            }
        }
    }

    /// The signature layers of one referrer.
    async fn referrer_evidence(
        &self,
        reference: &ArtifactRef,
        at: &ArtifactRef,
        entry: &Descriptor,
        online: bool,
        evidence: &mut Evidence,
    ) -> Result<()> {
        let Some(bytes) = self
            .manifest_by_digest(reference, &entry.digest, online)
            .await?
        else {
            return Ok(());
        };
        let manifest = Manifest::parse(&at.to_string(), &bytes)?;
        let artifact_type = manifest
            .artifact_type
            .clone()
            .or_else(|| entry.artifact_type.clone())
            .unwrap_or_else(|| manifest.config.media_type.clone());
        let is_notation = artifact_type == notation::NOTATION_ARTIFACT_TYPE;
        let layers: Vec<&Descriptor> = manifest
            .layers
            .iter()
            .filter(|l| is_notation || l.media_type.starts_with(bundle::BUNDLE_MEDIA_TYPE_PREFIX))
            .collect();
        if layers.is_empty() {
            return Ok(());
        }
        self.evidence_blob(reference, &manifest.config, online)
            .await?;
        for layer in layers {
            if is_notation && layer.media_type != notation::JWS_MEDIA_TYPE {
                evidence
                    .unsupported
                    .push(format!("Notation signature in {at} ({})", layer.media_type));
                continue;
            }
            let Some(blob) = self.evidence_blob(reference, layer, online).await? else {
                continue;
            };
            if is_notation {
                evidence.notation.push(blob);
            } else {
                evidence.bundles.push(blob);
            }
        }
        Ok(())
    }

    /// A blob of a signature, refused before any byte is read if its descriptor
    /// claims more than [`MAX_EVIDENCE_BLOB_BYTES`]: signature manifests are not
    /// signed, so their claims are not to be trusted.
    async fn evidence_blob(
        &self,
        reference: &ArtifactRef,
        descriptor: &Descriptor,
        online: bool,
    ) -> Result<Option<Vec<u8>>> {
        if descriptor.size > MAX_EVIDENCE_BLOB_BYTES {
            return Err(Error::Artifact {
                reference: reference.at_digest(&descriptor.digest).to_string(),
                message: format!(
                    "claims {} bytes; gate reads at most {MAX_EVIDENCE_BLOB_BYTES} bytes of a signature",
                    descriptor.size
                ),
            });
        }
        self.blob(reference, descriptor, online).await
    }
}

/// Is this artifact type one of the signatures gate reads?
fn is_signature_type(artifact_type: &str) -> bool {
    artifact_type == notation::NOTATION_ARTIFACT_TYPE
        || artifact_type.starts_with(bundle::BUNDLE_MEDIA_TYPE_PREFIX)
}
