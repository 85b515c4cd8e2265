//! The policy client: pull (verified, through the local store), push, sign.
//!
//! - `evidence`: the signatures of a manifest;
//! - `sign`: signing and attaching signatures.

mod evidence;
mod sign;

use crate::digest;
use crate::error::{Error, Result};
use crate::manifest::{
    Descriptor, Manifest, OCI_MANIFEST, PolicyArtifact, annotations::REF_NAME, policy_layer,
};
use crate::reference::ArtifactRef;
use crate::registry::Registry;
use crate::store::Store;
use crate::verify::{self, Acceptance, trust::TrustPolicy};
use chrono::Utc;

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

    pub(super) fn registry(&self, reference: &ArtifactRef) -> Result<&Registry> {
        self.registry.as_ref().ok_or_else(|| Error::NotInStore {
            reference: reference.to_string(),
            store: self.store.root().to_owned(),
        })
    }

    /// Runs `work` (one pull) within the registry's deadline. Offline, there is none:
    /// the store is local.
    pub(super) async fn within_deadline<T>(
        &self,
        reference: &ArtifactRef,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(registry) = &self.registry else {
            return work.await;
        };
        let deadline = registry.options().deadline;
        tokio::time::timeout(deadline, work)
            .await
            .map_err(|_| Error::Deadline {
                reference: reference.to_string(),
                seconds: deadline.as_secs(),
            })?
    }

    /// The manifest digest a tag points at (registry; offline, the store's copy).
    pub async fn resolve(&self, reference: &ArtifactRef) -> Result<String> {
        self.within_deadline(reference, self.resolve_tag(reference))
            .await
    }

    async fn resolve_tag(&self, reference: &ArtifactRef) -> Result<String> {
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

    pub(super) async fn manifest_by_tag(
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

    pub(super) async fn manifest_by_digest(
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

    pub(super) async fn blob(
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

    /// Pulls a policy: resolve the tag (if any), fetch and check the manifest,
    /// verify its signatures under `trust` (refusing before the component is even
    /// fetched), then fetch and check the config and the component.
    /// With `online`, pinned content still comes from the store when it has it.
    /// The whole pull has the registry's deadline.
    pub async fn pull_policy(
        &self,
        reference: &ArtifactRef,
        trust: Option<&TrustPolicy>,
        online: bool,
    ) -> Result<Pulled> {
        self.within_deadline(reference, self.pull(reference, trust, online))
            .await
    }

    async fn pull(
        &self,
        reference: &ArtifactRef,
        trust: Option<&TrustPolicy>,
        online: bool,
    ) -> Result<Pulled> {
        let online = online && self.registry.is_some();
        let digest = match &reference.digest {
            Some(digest) => digest.clone(),
            None if online => self.resolve_tag(reference).await?,
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
                let evidence = match self.find_evidence(&pinned, &digest, online).await {
                    Ok(evidence) => evidence,
                    Err(Error::Registry { message, .. }) if online => {
                        notices.push(format!(
                            "{pinned}: registry unreachable ({message}); verified against the signatures in the local store"
                        ));
                        self.find_evidence(&pinned, &digest, false).await?
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
