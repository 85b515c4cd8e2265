//! The `Gate` custom resource (`gate.dev/v1alpha1`): which source to judge, which
//! path of it to render, and which of the platform's bundles to judge it with.
//!
//! A `Gate` publishes one `ExternalArtifact` of the same name in its namespace.
//! It mirrors source-watcher's `ArtifactGenerator` and the RFC-0012 "custom
//! source transform": a source goes in, an `ExternalArtifact` comes out, and a
//! Kustomization points at the `ExternalArtifact`.

use crate::flux_api::{Artifact, Condition, SourceKind};
use kube::CustomResource;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The label on every `ExternalArtifact` gate publishes: its value is the `Gate`'s name.
pub const GATE_LABEL: &str = "gate.dev/gate";
/// The annotation carrying the digest of the bundle that approved the published artifact.
pub const BUNDLE_DIGEST_ANNOTATION: &str = "gate.dev/bundle-digest";
/// The annotation (and artifact metadata key) naming the URL of the published
/// artifact's evaluation record.
pub const ATTESTATION_ANNOTATION: &str = "gate.dev/attestation";

/// Judge a Flux source with a policy bundle; publish only approved renders.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "gate.dev",
    version = "v1alpha1",
    kind = "Gate",
    namespaced,
    status = "GateStatus",
    shortname = "gt",
    doc = "Judges a Flux source with a policy bundle and publishes only approved renders as an ExternalArtifact of the same name.",
    // Raw JSON columns: the structured form repeats `type_`, which clippy's
    // duplicated-attributes lint flags.
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Published","type":"string","jsonPath":".status.artifact.revision"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GateSpec {
    /// The source to judge, in the Gate's namespace.
    pub source_ref: GateSourceRef,
    /// The directory of the source artifact to render and judge, as a Flux
    /// Kustomization's `spec.path` (default: the root).
    #[serde(default = "default_path")]
    #[schemars(length(max = 1024))]
    pub path: String,
    /// The bundle to judge with: one of the names the platform allows in this
    /// namespace (default: the namespace's default bundle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub bundle: Option<String>,
    /// Stop judging and publishing; the last published artifact stays.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

fn default_path() -> String {
    "./".into()
}

/// A reference to a Flux source in the Gate's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GateSourceRef {
    /// `GitRepository`, `OCIRepository` or `Bucket`.
    pub kind: SourceKind,
    /// The source's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// What the controller last did for a `Gate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateStatus {
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: True when the latest source revision was approved and published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The artifact published in the `ExternalArtifact`: the last approved revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The source revision judged last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The digest of the last final judgement's inputs (source, bundle, policy
    /// components, path), so unchanged inputs are not judged again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_key: Option<String>,
    /// The bundle of the last judgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// The signed evaluation record of the last judgement (approved or denied),
    /// when the controller signs records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attestation: Option<AttestationRef>,
}

/// Where an evaluation record is served, and what it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttestationRef {
    /// The source revision the record judged.
    pub revision: String,
    /// `allow`, `deny` or `error`.
    pub decision: String,
    /// Where the artifact server serves it.
    pub url: String,
    /// The sha256 of its bytes, `sha256:<hex>`.
    pub digest: String,
}

/// The CRD of `Gate`, as YAML (`gate flux crd`; checked in as integration/flux/deploy/crd-gate.yaml).
pub fn crd_yaml() -> String {
    let crd = Gate::crd();
    let body = serde_yaml_ng::to_string(&crd).unwrap_or_default();
    format!("# Generated by `gate flux crd` from host/flux/src/crd.rs; do not edit.\n---\n{body}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_gate_reads_as_a_flux_user_writes_it() {
        let gate: Gate = serde_yaml_ng::from_str(
            "apiVersion: gate.dev/v1alpha1\nkind: Gate\nmetadata: {name: shop, namespace: shop}\nspec:\n  sourceRef: {kind: GitRepository, name: shop}\n",
        )
        .unwrap();
        assert_eq!(gate.spec.path, "./");
        assert_eq!(gate.spec.source_ref.kind, SourceKind::GitRepository);
        assert_eq!(gate.spec.bundle, None);
        let bad = serde_yaml_ng::from_str::<Gate>(
            "apiVersion: gate.dev/v1alpha1\nkind: Gate\nmetadata: {name: s}\nspec:\n  sourceRef: {kind: HelmChart, name: s}\n",
        );
        assert!(bad.is_err());
    }

    #[test]
    fn the_crd_has_the_status_subresource_and_the_enum() {
        let text = crd_yaml();
        assert!(text.contains("status: {}"), "{text}");
        assert!(text.contains("OCIRepository") && text.contains("GitRepository"));
        assert!(text.contains("name: gates.gate.dev"));
    }
}
