//! required-annotations: objects carry the annotations you require, with values of the
//! right form.
//!
//! Annotations such as `a8r.io/owner` or a runbook URL tell whoever is on call what a
//! Service is and how to fix it. Settings take the parameters of Gatekeeper's
//! `K8sRequiredAnnotations` (`annotations: [{key, allowedRegex}]`, `message`). `kinds`
//! limits the rule to some kinds, as a Gatekeeper constraint's `match.kinds` would.

// The requirement logic is the one of required-labels, applied to annotations.
#[path = "../../required-labels/src/required.rs"]
mod required;

use gate_policy_sdk::prelude::*;
use required::{Required, Requirement};

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Required annotations, each with an optional regular expression for its value.
    annotations: Vec<Requirement>,
    /// A message that replaces the start of every violation message.
    message: Option<String>,
    /// If not empty, only objects of these kinds are judged (e.g. `[Service]`).
    kinds: Vec<String>,
}

struct RequiredAnnotations {
    required: Required,
    kinds: Vec<String>,
}

impl Policy for RequiredAnnotations {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "required-annotations",
            "Objects must carry the required annotations",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies objects that lack a required annotation, or whose annotation value \
                 does not match the required regular expression, such as an owner contact or \
                 a runbook URL. Gatekeeper K8sRequiredAnnotations, with its parameter names.",
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
            "annotation",
            "annotations",
            &settings.annotations,
            &[],
            settings.message,
        )?;
        Ok(RequiredAnnotations {
            required,
            kinds: settings.kinds,
        })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == object.kind()) {
            return Vec::new();
        }
        let path = FieldPath::root().keys(&["metadata", "annotations"]);
        self.required.check(object, object.annotations(), &path)
    }
}

export_policy!(RequiredAnnotations);
