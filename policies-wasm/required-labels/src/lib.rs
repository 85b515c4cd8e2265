//! required-labels: objects carry the labels you require, with values of the right form.
//!
//! Labels are how owners, cost centres and on-call rotations are found from a running
//! object; a missing `owner` label is an incident with nobody to page. Settings take the
//! parameters of Gatekeeper's `K8sRequiredLabels` (`labels: [{key, allowedRegex}]`,
//! `message`) and Azure Policy's "Kubernetes cluster pods should use specified labels"
//! (`labelsList`: keys that must be present). `kinds` limits the rule to some kinds,
//! as a Gatekeeper constraint's `match.kinds` would. With `podTemplate`, workloads are
//! judged on the labels of the pods they create (their pod template), as Azure judges
//! pods at admission, and objects without a pod spec are not judged.

mod required;

use gate_policy_sdk::prelude::*;
use required::{Required, Requirement};

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Required labels, each with an optional regular expression for its value.
    labels: Vec<Requirement>,
    /// Label keys that must be present, with any value (Azure Policy's parameter).
    labels_list: Vec<String>,
    /// A message that replaces the start of every violation message.
    message: Option<String>,
    /// If not empty, only objects of these kinds are judged (e.g. `[Namespace]`).
    kinds: Vec<String>,
    /// Judge the labels of the pod template of workloads (what their pods get) instead of
    /// the object's own; objects without a pod spec are then not judged.
    pod_template: bool,
}

struct RequiredLabels {
    required: Required,
    kinds: Vec<String>,
    pod_template: bool,
}

impl Policy for RequiredLabels {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("required-labels", "Objects must carry the required labels")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Denies objects that lack a required label, or whose label value does not \
                 match the required regular expression: labels are how an object's owner and \
                 purpose are found when it misbehaves. Gatekeeper K8sRequiredLabels and Azure \
                 Policy's required labels definition, with their parameter names.",
            )
            .severity(Severity::Low)
            .category("governance")
            .targets([KindSelector::any()])
            .controls([Control::iso27001(
                "A.5.9",
                "Inventory of information and other associated assets",
            )])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let required = Required::new(
            "label",
            "labels",
            &settings.labels,
            &settings.labels_list,
            settings.message,
        )?;
        Ok(RequiredLabels {
            required,
            kinds: settings.kinds,
            pod_template: settings.pod_template,
        })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == object.kind()) {
            return Vec::new();
        }
        if !self.pod_template {
            let path = FieldPath::root().keys(&["metadata", "labels"]);
            return self.required.check(object, object.labels(), &path);
        }
        match pod_spec(object) {
            Some(pod) => {
                let path = pod.metadata_path.key("labels");
                self.required
                    .check(object, pod.metadata.get("labels"), &path)
            }
            None => Vec::new(),
        }
    }
}

export_policy!(RequiredLabels);
