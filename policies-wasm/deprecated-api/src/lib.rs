//! deprecated-api: objects do not use API versions removed from the target Kubernetes.
//!
//! A manifest written against a removed API version (`extensions/v1beta1` Deployments,
//! `policy/v1beta1` PodSecurityPolicies, ...) fails to apply after an upgrade, usually
//! in the middle of a release. Settings take the parameters of Gatekeeper's
//! `VerifyDeprecatedAPI`: `kvs`, a list of `{deprecatedAPI, kinds, targetAPI}`, and
//! `k8sVersion`, the version that removes them (for messages).
//!
//! When the front door knows the cluster's Kubernetes version (Argo CD's
//! `KUBE_VERSION`), the policy also applies Kubernetes' own removal table: every
//! API version the target cluster no longer serves is denied, whatever `kvs` says.

use gate_policy_sdk::prelude::*;

/// A Kubernetes version as Gatekeeper writes it: `1.16` (a number) or `"1.16"`.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum Version {
    Text(String),
    Number(f64),
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Version::Text(text) => f.write_str(text),
            Version::Number(n) => write!(f, "{n}"),
        }
    }
}

/// One removed API version and the kinds it served.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Removal {
    /// The removed `apiVersion`, e.g. `extensions/v1beta1`.
    #[serde(rename = "deprecatedAPI")]
    deprecated_api: String,
    /// The kinds no longer served at that version.
    kinds: Vec<String>,
    /// The `apiVersion` to use instead; `None` when the kind is gone.
    #[serde(default, rename = "targetAPI")]
    target_api: Option<String>,
}

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The removed API versions.
    kvs: Vec<Removal>,
    /// The Kubernetes version that removes them.
    #[serde(rename = "k8sVersion")]
    k8s_version: Option<Version>,
    /// Apply Kubernetes' own removal table when the cluster's version is known
    /// (default true).
    #[serde(rename = "useClusterVersion")]
    use_cluster_version: Option<bool>,
}

/// Kubernetes' removed API versions: (apiVersion, kinds, removed in 1.x, replacement).
/// From the Kubernetes deprecated API migration guide.
const REMOVALS: &[(&str, &[&str], u32, Option<&str>)] = &[
    (
        "extensions/v1beta1",
        &["Deployment", "DaemonSet", "ReplicaSet"],
        16,
        Some("apps/v1"),
    ),
    (
        "extensions/v1beta1",
        &["NetworkPolicy"],
        16,
        Some("networking.k8s.io/v1"),
    ),
    (
        "extensions/v1beta1",
        &["PodSecurityPolicy"],
        16,
        Some("policy/v1beta1"),
    ),
    (
        "apps/v1beta1",
        &[
            "Deployment",
            "StatefulSet",
            "ReplicaSet",
            "ControllerRevision",
        ],
        16,
        Some("apps/v1"),
    ),
    (
        "apps/v1beta2",
        &[
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ControllerRevision",
        ],
        16,
        Some("apps/v1"),
    ),
    (
        "extensions/v1beta1",
        &["Ingress"],
        22,
        Some("networking.k8s.io/v1"),
    ),
    (
        "networking.k8s.io/v1beta1",
        &["Ingress", "IngressClass"],
        22,
        Some("networking.k8s.io/v1"),
    ),
    (
        "apiextensions.k8s.io/v1beta1",
        &["CustomResourceDefinition"],
        22,
        Some("apiextensions.k8s.io/v1"),
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        &[
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
        ],
        22,
        Some("admissionregistration.k8s.io/v1"),
    ),
    (
        "apiregistration.k8s.io/v1beta1",
        &["APIService"],
        22,
        Some("apiregistration.k8s.io/v1"),
    ),
    (
        "authentication.k8s.io/v1beta1",
        &["TokenReview"],
        22,
        Some("authentication.k8s.io/v1"),
    ),
    (
        "authorization.k8s.io/v1beta1",
        &[
            "SubjectAccessReview",
            "LocalSubjectAccessReview",
            "SelfSubjectAccessReview",
            "SelfSubjectRulesReview",
        ],
        22,
        Some("authorization.k8s.io/v1"),
    ),
    (
        "certificates.k8s.io/v1beta1",
        &["CertificateSigningRequest"],
        22,
        Some("certificates.k8s.io/v1"),
    ),
    (
        "coordination.k8s.io/v1beta1",
        &["Lease"],
        22,
        Some("coordination.k8s.io/v1"),
    ),
    (
        "rbac.authorization.k8s.io/v1beta1",
        &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
        22,
        Some("rbac.authorization.k8s.io/v1"),
    ),
    (
        "scheduling.k8s.io/v1beta1",
        &["PriorityClass"],
        22,
        Some("scheduling.k8s.io/v1"),
    ),
    (
        "storage.k8s.io/v1beta1",
        &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
        22,
        Some("storage.k8s.io/v1"),
    ),
    ("batch/v1beta1", &["CronJob"], 25, Some("batch/v1")),
    (
        "discovery.k8s.io/v1beta1",
        &["EndpointSlice"],
        25,
        Some("discovery.k8s.io/v1"),
    ),
    (
        "events.k8s.io/v1beta1",
        &["Event"],
        25,
        Some("events.k8s.io/v1"),
    ),
    (
        "autoscaling/v2beta1",
        &["HorizontalPodAutoscaler"],
        25,
        Some("autoscaling/v2"),
    ),
    (
        "policy/v1beta1",
        &["PodDisruptionBudget"],
        25,
        Some("policy/v1"),
    ),
    ("policy/v1beta1", &["PodSecurityPolicy"], 25, None),
    (
        "node.k8s.io/v1beta1",
        &["RuntimeClass"],
        25,
        Some("node.k8s.io/v1"),
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        &["FlowSchema", "PriorityLevelConfiguration"],
        26,
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
    (
        "autoscaling/v2beta2",
        &["HorizontalPodAutoscaler"],
        26,
        Some("autoscaling/v2"),
    ),
    (
        "storage.k8s.io/v1beta1",
        &["CSIStorageCapacity"],
        27,
        Some("storage.k8s.io/v1"),
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        &["FlowSchema", "PriorityLevelConfiguration"],
        29,
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        &["FlowSchema", "PriorityLevelConfiguration"],
        32,
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
];

/// The minor version of a Kubernetes `1.x` version as front doors write it
/// (`1.29`, `v1.29.3`, `1.29+`, `v1.29.3-eks-1234`); `None` if it is not one.
fn minor_version(version: &str) -> Option<u32> {
    let rest = version.trim().trim_start_matches('v').strip_prefix("1.")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

struct DeprecatedApi {
    settings: Settings,
}

impl Policy for DeprecatedApi {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "deprecated-api",
            "Objects must not use removed API versions",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies objects whose apiVersion and kind are listed as removed in the \
                 target Kubernetes version: they would fail to apply after the upgrade. \
                 Gatekeeper VerifyDeprecatedAPI, with its parameter names.",
        )
        .severity(Severity::Medium)
        .category("lifecycle")
        .targets([KindSelector::any()])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let errors: Vec<SettingsError> = settings
            .kvs
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.deprecated_api.contains('/') && r.deprecated_api != "v1")
            .map(|(i, r)| {
                SettingsError::new(
                    format!("kvs[{i}].deprecatedAPI"),
                    format!(
                        "{:?} is not an apiVersion such as extensions/v1beta1",
                        r.deprecated_api
                    ),
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(DeprecatedApi { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let listed = self.listed(object);
        if !listed.is_empty() || self.settings.use_cluster_version == Some(false) {
            return listed;
        }
        render
            .kube_version()
            .map(|v| removed_from(object, v))
            .unwrap_or_default()
    }
}

/// Kubernetes' own removals that the cluster at `version` no longer serves.
fn removed_from(object: &Object<'_>, version: &str) -> Vec<Violation> {
    let Some(minor) = minor_version(version) else {
        return vec![Violation::new(
            "",
            "the cluster's Kubernetes version is not a 1.x version: cannot tell which APIs it serves",
        )];
    };
    let api = object.api_version();
    let kind = object.kind();
    REMOVALS
        .iter()
        .find(|(removed_api, kinds, removed_in, _)| {
            *removed_api == api && kinds.contains(&kind) && *removed_in <= minor
        })
        .map(|(_, _, removed_in, target)| {
            let instead = match target {
                Some(target) => format!("; use {target}"),
                None => "; it has no replacement".to_owned(),
            };
            Violation::new(
                "apiVersion",
                format!(
                    "{kind} {:?} uses {api}, removed in Kubernetes 1.{removed_in} (the cluster runs {version}){instead}",
                    object.name()
                ),
            )
        })
        .into_iter()
        .collect()
}

impl DeprecatedApi {
    /// The violations of the removals listed in the settings.
    fn listed(&self, object: &Object<'_>) -> Vec<Violation> {
        let api = object.api_version();
        let kind = object.kind();
        self.settings
            .kvs
            .iter()
            .filter(|r| r.deprecated_api == api && r.kinds.iter().any(|k| k == kind))
            .take(1)
            .map(|r| {
                let removed = match &self.settings.k8s_version {
                    Some(v) => format!("removed in Kubernetes {v}"),
                    None => "removed".to_owned(),
                };
                let instead = match &r.target_api {
                    Some(target) if !target.is_empty() && target != "None" => {
                        format!("; use {target}")
                    }
                    _ => "; it has no replacement".to_owned(),
                };
                Violation::new(
                    "apiVersion",
                    format!("{kind} {:?} uses {api}, {removed}{instead}", object.name()),
                )
            })
            .collect()
    }
}

export_policy!(DeprecatedApi);
