//! The policy client: pull (verified, through the local store), push, sign.

use crate::digest;
use crate::error::{Error, Result};
use crate::manifest::{
    Descriptor, Index, Manifest, OCI_INDEX, OCI_MANIFEST, PolicyArtifact, annotations::REF_NAME,
    policy_layer,
};
use crate::reference::ArtifactRef;
use crate::registry::Registry;
use crate::store::Store;
use crate::verify::{self, Acceptance, Evidence, bundle, cosign, notation, trust::TrustPolicy};
use chrono::Utc;
use p256::ecdsa::SigningKey;
use std::collections::BTreeMap;

/// A pulled, checked (and, with a trust policy, verified) policy.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The reference, pinned to the manifest digest.
    pub reference: ArtifactRef,
    /// The manifest digest.
    pub digest: String,
    /// The artifact.
    pub artifact: PolicyArtifact,
    /// The verification outcome, if a trust policy was applied.
    pub acceptance: Option<Acceptance>,
    /// Warnings for every run (verification skipped, registry down, ...).
    pub notices: Vec<String>,
}

/// Pulls through the local store; talks to a registry unless offline.
pub struct Client {
    registry: Option<Registry>,
    store: Store,
}

impl Client {
    /// A client that uses the registry and the store.
    pub fn online(registry: Registry, store: Store) -> Client {
        Client {
            registry: Some(registry),
            store,
        }
    }

    /// A client that only reads the store.
    pub fn offline(store: Store) -> Client {
        Client {
            registry: None,
            store,
        }
    }

    /// The local store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn registry(&self, reference: &ArtifactRef) -> Result<&Registry> {
        self.registry.as_ref().ok_or_else(|| Error::NotInStore {
            reference: reference.to_string(),
            store: self.store.root().to_owned(),
        })
    }

    /// The manifest digest a tag points at (registry; offline, the store's copy).
    pub async fn resolve(&self, reference: &ArtifactRef) -> Result<String> {
        if let Some(digest) = &reference.digest {
            return Ok(digest.clone());
        }
        match self.manifest_by_tag(reference, true).await? {
            Some((_, digest)) => Ok(digest),
            None => Err(Error::Reference {
                reference: reference.to_string(),
                message: "no such tag in the registry".into(),
            }),
        }
    }

    async fn manifest_by_tag(
        &self,
        reference: &ArtifactRef,
        online: bool,
    ) -> Result<Option<(Vec<u8>, String)>> {
        let name = reference.to_string();
        if let (Some(registry), true) = (&self.registry, online) {
            let Some(fetched) = registry.fetch_manifest(reference).await? else {
                return Ok(None);
            };
            self.store.write_blob(&fetched.digest, &fetched.bytes)?;
            let mut descriptor = Descriptor::of(
                &media_type_of(&fetched.bytes, &fetched.media_type),
                &fetched.bytes,
            );
            descriptor.annotations.clear();
            self.store.set_ref(&name, &descriptor)?;
            return Ok(Some((fetched.bytes, fetched.digest)));
        }
        let Some(descriptor) = self.store.get_ref(&name)? else {
            return Ok(None);
        };
        Ok(self
            .store
            .read_blob(&descriptor.digest)?
            .map(|bytes| (bytes, descriptor.digest)))
    }

    async fn manifest_by_digest(
        &self,
        reference: &ArtifactRef,
        digest: &str,
        online: bool,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(bytes) = self.store.read_blob(digest)? {
            return Ok(Some(bytes));
        }
        let (Some(registry), true) = (&self.registry, online) else {
            return Ok(None);
        };
        let Some(fetched) = registry
            .fetch_manifest(&reference.at_digest(digest))
            .await?
        else {
            return Ok(None);
        };
        self.store.write_blob(digest, &fetched.bytes)?;
        Ok(Some(fetched.bytes))
    }

    async fn blob(
        &self,
        reference: &ArtifactRef,
        descriptor: &Descriptor,
        online: bool,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(bytes) = self.store.read_blob(&descriptor.digest)?
            && bytes.len() as u64 == descriptor.size
        {
            return Ok(Some(bytes));
        }
        let (Some(registry), true) = (&self.registry, online) else {
            return Ok(None);
        };
        let bytes = registry.fetch_blob(reference, descriptor).await?;
        self.store.write_blob(&descriptor.digest, &bytes)?;
        Ok(Some(bytes))
    }

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

    /// Pulls a policy: resolve the tag (if any), fetch and check the manifest,
    /// verify its signatures under `trust` (refusing before the component is even
    /// fetched), then fetch and check the config and the component.
    /// With `online`, pinned content still comes from the store when it has it.
    pub async fn pull_policy(
        &self,
        reference: &ArtifactRef,
        trust: Option<&TrustPolicy>,
        online: bool,
    ) -> Result<Pulled> {
        let online = online && self.registry.is_some();
        let digest = match &reference.digest {
            Some(digest) => digest.clone(),
            None if online => self.resolve(reference).await?,
            None => self
                .manifest_by_tag(reference, false)
                .await?
                .map(|(_, d)| d)
                .ok_or_else(|| Error::NotInStore {
                    reference: reference.to_string(),
                    store: self.store.root().to_owned(),
                })?,
        };
        let pinned = reference.at_digest(&digest);
        let mut notices = Vec::new();
        let scope = trust.map(|t| t.scope_for(&pinned)).transpose()?;
        let manifest_bytes = match self.manifest_by_digest(&pinned, &digest, online).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) if online => {
                return Err(Error::Reference {
                    reference: pinned.to_string(),
                    message: "no such manifest in the registry".into(),
                });
            }
            Ok(None) => {
                return Err(Error::NotInStore {
                    reference: pinned.to_string(),
                    store: self.store.root().to_owned(),
                });
            }
            Err(e) => return Err(e),
        };
        let actual = digest::sha256(&manifest_bytes);
        if actual != digest {
            return Err(Error::DigestMismatch {
                reference: pinned.to_string(),
                what: "manifest".into(),
                expected: digest,
                actual,
            });
        }
        let manifest = Manifest::parse(&pinned.to_string(), &manifest_bytes)?;
        let layer = policy_layer(&pinned.to_string(), &manifest)?.clone();

        let acceptance = match (trust, scope) {
            (Some(trust), Some(scope)) if scope.level == verify::trust::Level::Skip => {
                notices.push(verify::skip_notice(&pinned, &scope));
                let _ = trust;
                None
            }
            (Some(trust), Some(_)) => {
                let evidence = match self.evidence(&pinned, &digest, online).await {
                    Ok(evidence) => evidence,
                    Err(Error::Registry { message, .. }) if online => {
                        notices.push(format!(
                            "{pinned}: registry unreachable ({message}); verified against the signatures in the local store"
                        ));
                        self.evidence(&pinned, &digest, false).await?
                    }
                    Err(e) => return Err(e),
                };
                let acceptance = verify::decide(trust, &pinned, &digest, &evidence, Utc::now())?;
                notices.extend(acceptance.notices.iter().cloned());
                Some(acceptance)
            }
            _ => None,
        };

        let config = self
            .blob(&pinned, &manifest.config, online)
            .await?
            .ok_or_else(|| not_in_store(&pinned, &self.store))?;
        let wasm = self
            .blob(&pinned, &layer, online)
            .await?
            .ok_or_else(|| not_in_store(&pinned, &self.store))?;
        let mut descriptor = Descriptor::of(OCI_MANIFEST, &manifest_bytes);
        descriptor.annotations.remove(REF_NAME);
        self.store.set_ref(&pinned.to_string(), &descriptor)?;
        Ok(Pulled {
            reference: pinned,
            digest: actual,
            artifact: PolicyArtifact {
                manifest_bytes,
                manifest,
                config,
                wasm,
            },
            acceptance,
            notices,
        })
    }

    /// Pushes a policy artifact under `reference`'s tag; returns the manifest digest.
    /// The artifact is also kept in the local store.
    pub async fn push_policy(
        &self,
        reference: &ArtifactRef,
        artifact: &PolicyArtifact,
    ) -> Result<String> {
        let registry = self.registry(reference)?;
        registry.push_blob(reference, &artifact.config).await?;
        registry.push_blob(reference, &artifact.wasm).await?;
        let digest = artifact.digest();
        let target = if reference.tag.is_some() {
            reference.clone()
        } else {
            reference.at_digest(&digest)
        };
        let pushed = registry
            .push_manifest(&target, &artifact.manifest_bytes, OCI_MANIFEST)
            .await?;
        for bytes in [&artifact.config, &artifact.wasm, &artifact.manifest_bytes] {
            self.store.put_blob(bytes)?;
        }
        let descriptor = Descriptor::of(OCI_MANIFEST, &artifact.manifest_bytes);
        self.store
            .set_ref(&reference.at_digest(&digest).to_string(), &descriptor)?;
        if reference.tag.is_some() {
            self.store.set_ref(&reference.to_string(), &descriptor)?;
        }
        Ok(pushed)
    }

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

fn not_in_store(reference: &ArtifactRef, store: &Store) -> Error {
    Error::NotInStore {
        reference: reference.to_string(),
        store: store.root().to_owned(),
    }
}

/// The media type of manifest bytes: the declared one, else the one inside.
fn media_type_of(bytes: &[u8], declared: &str) -> String {
    if !declared.is_empty() && !declared.starts_with("text/") {
        return declared
            .split(';')
            .next()
            .unwrap_or(declared)
            .trim()
            .to_owned();
    }
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| {
            v.get("mediaType")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| OCI_MANIFEST.to_owned())
}
