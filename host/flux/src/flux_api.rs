//! The Flux API objects the gate reads and writes, shaped as the Flux CRDs
//! define them (fluxcd/source-controller `api/v1`, fluxcd/pkg `apis/meta`).

use kube::CustomResource;
use kube::core::{ApiResource, DynamicObject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The API group of Flux sources and of `ExternalArtifact`.
pub const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";
/// Their version.
pub const SOURCE_VERSION: &str = "v1";

/// `meta.Artifact`: what a source publishes in `status.artifact`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// The path of the file relative to the storage root of the controller serving it.
    pub path: String,
    /// The HTTP address of the file.
    pub url: String,
    /// A human-readable identifier of the revision, e.g. `main@sha1:<commit>`.
    #[serde(default)]
    pub revision: String,
    /// The digest of the tar.gz file, `sha256:<hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When the artifact was last updated (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<String>,
    /// The size of the tar.gz file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Upstream facts about the artifact.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// `metav1.Condition`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A `PascalCase` reason.
    pub reason: String,
    /// For people.
    #[serde(default)]
    pub message: String,
    /// When `status` last changed (RFC 3339).
    pub last_transition_time: String,
    /// The generation of the object the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// `meta.NamespacedObjectKindReference`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectKindReference {
    /// The API version of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The spec of an `ExternalArtifact`.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "ExternalArtifact",
    namespaced,
    status = "ExternalArtifactStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactSpec {
    /// The object the artifact is generated for (here: the `Gate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<ObjectKindReference>,
}

/// The status of an `ExternalArtifact`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactStatus {
    /// The artifact kustomize-controller applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Its conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// A Flux source kind a `Gate` can judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum SourceKind {
    /// `GitRepository`.
    GitRepository,
    /// `OCIRepository`.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// `Bucket`.
    Bucket,
}

impl SourceKind {
    /// Every kind, in the order they are watched.
    pub const ALL: [SourceKind; 3] = [
        SourceKind::GitRepository,
        SourceKind::OciRepository,
        SourceKind::Bucket,
    ];

    /// The kind as Flux spells it.
    pub fn kind(self) -> &'static str {
        match self {
            SourceKind::GitRepository => "GitRepository",
            SourceKind::OciRepository => "OCIRepository",
            SourceKind::Bucket => "Bucket",
        }
    }

    /// The kind from `gitrepository`, `GitRepository`, `ocirepository`, `bucket`, ...
    pub fn parse(text: &str) -> Option<SourceKind> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.kind().eq_ignore_ascii_case(text))
    }

    /// Its API resource, for dynamic API calls.
    pub fn api_resource(self) -> ApiResource {
        let kind = self.kind();
        ApiResource {
            group: SOURCE_GROUP.into(),
            version: SOURCE_VERSION.into(),
            api_version: format!("{SOURCE_GROUP}/{SOURCE_VERSION}"),
            kind: kind.into(),
            plural: match self {
                SourceKind::GitRepository => "gitrepositories",
                SourceKind::OciRepository => "ocirepositories",
                SourceKind::Bucket => "buckets",
            }
            .into(),
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// The artifact a source object publishes: `None` when it has none yet.
pub fn source_artifact(kind: SourceKind, object: &DynamicObject) -> Result<Option<Artifact>> {
    let Some(value) = object.data.get("status").and_then(|s| s.get("artifact")) else {
        return Ok(None);
    };
    if value.is_null() {
        return Ok(None);
    }
    let artifact: Artifact = serde_json::from_value(value.clone()).map_err(|e| Error::Shape {
        object: format!(
            "{kind} {}/{}",
            object.metadata.namespace.as_deref().unwrap_or_default(),
            object.metadata.name.as_deref().unwrap_or_default()
        ),
        message: format!("status.artifact: {e}"),
    })?;
    Ok(Some(artifact))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_git_repository_artifact_as_source_controller_writes_it() {
        let object: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {"url": "https://github.com/stefanprodan/podinfo", "interval": "1m"},
            "status": {"artifact": {
                "digest": "sha256:35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52",
                "lastUpdateTime": "2025-08-21T13:37:31Z",
                "path": "gitrepository/flux-system/podinfo/b3396ad.tar.gz",
                "revision": "master@sha1:b3396adb98a6a0f5eeedd1a600beaf5e954a1f28",
                "size": 20914,
                "url": "http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/podinfo/b3396ad.tar.gz"
            }}
        }))
        .unwrap();
        let artifact = source_artifact(SourceKind::GitRepository, &object)
            .unwrap()
            .unwrap();
        assert_eq!(
            artifact.revision,
            "master@sha1:b3396adb98a6a0f5eeedd1a600beaf5e954a1f28"
        );
        assert_eq!(artifact.size, Some(20914));
        let none: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "x"}, "status": {"conditions": []}
        }))
        .unwrap();
        assert_eq!(
            source_artifact(SourceKind::GitRepository, &none).unwrap(),
            None
        );
        let bad: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "x"}, "status": {"artifact": {"url": 7}}
        }))
        .unwrap();
        assert!(source_artifact(SourceKind::GitRepository, &bad).is_err());
    }

    #[test]
    fn source_kinds_map_to_their_resources() {
        assert_eq!(
            SourceKind::parse("gitrepository"),
            Some(SourceKind::GitRepository)
        );
        assert_eq!(
            SourceKind::parse("OCIRepository"),
            Some(SourceKind::OciRepository)
        );
        assert_eq!(SourceKind::parse("helmchart"), None);
        assert_eq!(
            SourceKind::OciRepository.api_resource().plural,
            "ocirepositories"
        );
        assert_eq!(SourceKind::Bucket.api_resource().plural, "buckets");
        assert_eq!(
            SourceKind::GitRepository.api_resource().plural,
            "gitrepositories"
        );
    }
}
