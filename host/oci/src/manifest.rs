//! OCI manifests and the gate policy artifact format.
//!
//! A policy is one OCI image manifest:
//! - `config`: [`POLICY_CONFIG_MEDIA_TYPE`], JSON: the policy's self-description;
//! - `layers`: exactly one [`POLICY_LAYER_MEDIA_TYPE`] layer, the component;
//! - `annotations`: `org.opencontainers.image.{title,version,description,source,licenses}`.

use crate::digest;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Media type of the policy's WebAssembly component layer.
pub const POLICY_LAYER_MEDIA_TYPE: &str = "application/vnd.gate.policy.component.v1+wasm";
/// Media type of the policy's config blob (its self-description).
pub const POLICY_CONFIG_MEDIA_TYPE: &str = "application/vnd.gate.policy.config.v1+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker v2 manifest (cosign signatures pushed by some tools use it).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The OCI empty descriptor's media type.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// What manifest requests accept.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// The largest manifest gate reads.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// The standard annotation keys gate writes.
pub mod annotations {
    /// Policy name.
    pub const TITLE: &str = "org.opencontainers.image.title";
    /// Policy version.
    pub const VERSION: &str = "org.opencontainers.image.version";
    /// Policy description.
    pub const DESCRIPTION: &str = "org.opencontainers.image.description";
    /// Source repository URL.
    pub const SOURCE: &str = "org.opencontainers.image.source";
    /// SPDX licence expression.
    pub const LICENSES: &str = "org.opencontainers.image.licenses";
    /// In OCI image layouts, the name of a manifest.
    pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
}

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    pub media_type: String,
    /// Its `sha256:` digest.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// The artifact type (manifests in indexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The descriptor of some bytes.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: digest::sha256(bytes),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// An OCI image manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`OCI_MANIFEST`] (or Docker's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// OCI 1.1 artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// What this manifest refers to (signatures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index (referrers lists, OCI layouts).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// [`OCI_INDEX`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_owned()),
            manifests: Vec::new(),
        }
    }
}

impl Manifest {
    /// Parses manifest bytes fetched for `reference`.
    pub fn parse(reference: &str, bytes: &[u8]) -> Result<Manifest> {
        serde_json::from_slice(bytes).map_err(|e| Error::Artifact {
            reference: reference.to_owned(),
            message: format!("not an OCI image manifest: {e}"),
        })
    }

    /// Serialises the manifest (deterministically: struct order, sorted maps).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain structs and string maps cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A policy artifact ready to push, or pulled and checked.
#[derive(Debug, Clone)]
pub struct PolicyArtifact {
    /// The manifest bytes (exactly what is pushed or was pulled).
    pub manifest_bytes: Vec<u8>,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The config blob: the policy's self-description.
    pub config: Vec<u8>,
    /// The component.
    pub wasm: Vec<u8>,
}

impl PolicyArtifact {
    /// Builds the artifact of a component, its self-description (`config`, JSON)
    /// and the standard annotations.
    pub fn build(
        wasm: Vec<u8>,
        config: &serde_json::Value,
        annotations: BTreeMap<String, String>,
    ) -> PolicyArtifact {
        let config = serde_json::to_vec_pretty(config).unwrap_or_default();
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_owned()),
            artifact_type: None,
            config: Descriptor::of(POLICY_CONFIG_MEDIA_TYPE, &config),
            layers: vec![Descriptor::of(POLICY_LAYER_MEDIA_TYPE, &wasm)],
            subject: None,
            annotations,
        };
        PolicyArtifact {
            manifest_bytes: manifest.to_bytes(),
            manifest,
            config,
            wasm,
        }
    }

    /// The manifest digest.
    pub fn digest(&self) -> String {
        digest::sha256(&self.manifest_bytes)
    }

    /// The component's digest.
    pub fn component_digest(&self) -> String {
        digest::sha256(&self.wasm)
    }
}

/// The layer of a policy manifest, checking that it is one: our config media type
/// and exactly one component layer.
pub fn policy_layer<'m>(reference: &str, manifest: &'m Manifest) -> Result<&'m Descriptor> {
    let err = |message: String| Error::Artifact {
        reference: reference.to_owned(),
        message,
    };
    if manifest.config.media_type != POLICY_CONFIG_MEDIA_TYPE {
        return Err(err(format!(
            "not a gate policy: config media type is {:?}, expected {POLICY_CONFIG_MEDIA_TYPE}",
            manifest.config.media_type
        )));
    }
    let mut layers = manifest
        .layers
        .iter()
        .filter(|l| l.media_type == POLICY_LAYER_MEDIA_TYPE);
    match (layers.next(), layers.next()) {
        (Some(layer), None) => Ok(layer),
        (None, _) => Err(err(format!(
            "not a gate policy: no {POLICY_LAYER_MEDIA_TYPE} layer"
        ))),
        (Some(_), Some(_)) => Err(err("a gate policy has exactly one component layer".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_artifact_is_a_policy_manifest_whose_digests_match() {
        let mut ann = BTreeMap::new();
        ann.insert(annotations::VERSION.to_owned(), "1.0.0".to_owned());
        let a = PolicyArtifact::build(b"\0asm".to_vec(), &serde_json::json!({"name": "x"}), ann);
        let parsed = Manifest::parse("r", &a.manifest_bytes).unwrap();
        let layer = policy_layer("r", &parsed).unwrap();
        assert_eq!(layer.digest, digest::sha256(b"\0asm"));
        assert_eq!(parsed.config.digest, digest::sha256(&a.config));
        assert_eq!(parsed.annotations[annotations::VERSION], "1.0.0");
        // Deterministic: the same inputs give the same manifest digest.
        let again = PolicyArtifact::build(
            b"\0asm".to_vec(),
            &serde_json::json!({"name": "x"}),
            a.manifest.annotations.clone(),
        );
        assert_eq!(a.digest(), again.digest());
    }

    #[test]
    fn refuses_manifests_that_are_not_policies() {
        let mut a =
            PolicyArtifact::build(vec![1], &serde_json::json!({}), BTreeMap::new()).manifest;
        a.config.media_type = "application/vnd.oci.image.config.v1+json".into();
        assert!(
            policy_layer("r", &a)
                .unwrap_err()
                .to_string()
                .contains("not a gate policy")
        );
    }
}
