//! deprecated-api: objects do not use API versions removed from the target Kubernetes.
//!
//! A manifest written against a removed API version (`extensions/v1beta1` Deployments,
//! `policy/v1beta1` PodSecurityPolicies, ...) fails to apply after an upgrade, usually
//! in the middle of a release. Settings take the parameters of Gatekeeper's
//! `VerifyDeprecatedAPI`: `kvs`, a list of `{deprecatedAPI, kinds, targetAPI}`, and
//! `k8sVersion`, the version that removes them (for messages).

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

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
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
