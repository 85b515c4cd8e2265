//! no-plaintext-secrets: a render must not carry Secret values.
//!
//! In a GitOps repository a `Secret` with `data` or `stringData` is a credential in
//! plain text (base64 is an encoding, not encryption): everyone who can read the
//! repository, its forks and its CI logs can read it. Values belong in Azure Key
//! Vault, mounted by the Secrets Store CSI driver. Violations name the keys, never
//! the values.

use gate_policy_sdk::prelude::*;

/// The annotation `kubectl apply` writes: a full JSON copy of the object, data included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Where the values should live instead.
const REMEDY: &str = "store the value in Azure Key Vault and mount it with the Secrets Store \
                      CSI driver (a SecretProviderClass with provider azure)";

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Secret types that may carry data in the render, e.g. `kubernetes.io/tls` while
    /// certificates move to cert-manager. Default: none. A Secret without data passes
    /// whatever its type, which covers the `kubernetes.io/service-account-token` Secret
    /// that the token controller fills in.
    exempt_types: Vec<String>,
}

struct NoPlaintextSecrets {
    settings: Settings,
}

/// The data fields of a Secret: both carry values.
const DATA_FIELDS: [&str; 2] = ["data", "stringData"];

impl NoPlaintextSecrets {
    fn exempt(&self, object: &Object<'_>) -> bool {
        let secret_type = object.root.str("type").unwrap_or("Opaque");
        self.settings.exempt_types.iter().any(|t| t == secret_type)
    }
}

/// One violation per key of `data` and `stringData`; one for the field itself when it
/// is not a mapping (the API server would reject it, but the text is still in Git).
fn data_violations(object: &Object<'_>) -> Vec<Violation> {
    let mut violations = Vec::new();
    for field in DATA_FIELDS {
        let node = object.root.get(field);
        let path = FieldPath::root().key(field);
        if node.is_object() {
            violations.extend(node.entries().map(|(key, _)| {
                Violation::new(
                    path.key(key),
                    format!(
                        "Secret {:?} carries key {key:?} in plain text ({field}); {REMEDY}",
                        object.name()
                    ),
                )
            }));
        } else if !node.is_null() {
            violations.push(Violation::new(
                path,
                format!(
                    "Secret {:?} carries a {field} value in plain text; {REMEDY}",
                    object.name()
                ),
            ));
        }
    }
    violations
}

/// Does the last-applied annotation hold a copy of data or stringData?
fn last_applied_carries_data(object: &Object<'_>) -> bool {
    let Some(text) = object.annotations().str(LAST_APPLIED) else {
        return false;
    };
    // Unparseable JSON cannot be checked key by key: it may hold anything, so any
    // mention of a data field counts.
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(copy) => DATA_FIELDS.iter().any(|field| match &copy[field] {
            serde_json::Value::Null => false,
            serde_json::Value::Object(map) => !map.is_empty(),
            _ => true,
        }),
        Err(_) => DATA_FIELDS
            .iter()
            .any(|field| text.contains(&format!("\"{field}\""))),
    }
}

impl Policy for NoPlaintextSecrets {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "no-plaintext-secrets",
            "Secrets must not carry values in the render",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies a Secret whose data or stringData holds any key, and a Secret whose \
                 kubectl last-applied-configuration annotation holds a copy of them. A value \
                 committed to Git is readable by everyone with access to the repository and \
                 its history; base64 is not encryption. Keep values in Azure Key Vault and \
                 mount them with the Secrets Store CSI driver. Findings name the keys, never \
                 the values. Secret types listed in exemptTypes are not judged.",
        )
        .severity(Severity::Critical)
        .category("secrets")
        .targets([KindSelector::new("", "Secret")])
        .controls([
            Control::cis("5.4.2", "Consider external secret storage"),
            Control::iso27001("A.5.17", "Authentication information"),
            Control::iso27001("A.8.12", "Data leakage prevention"),
        Control::gdpr("Art. 32(1)(b)", "The ability to ensure the ongoing confidentiality, integrity, availability and resilience of processing systems and services"), ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let errors: Vec<SettingsError> = settings
            .exempt_types
            .iter()
            .enumerate()
            .filter(|(_, t)| t.trim().is_empty())
            .map(|(i, _)| SettingsError::new(format!("exemptTypes[{i}]"), "must not be empty"))
            .collect();
        if errors.is_empty() {
            Ok(NoPlaintextSecrets { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if self.exempt(object) {
            return Vec::new();
        }
        let mut violations = data_violations(object);
        if last_applied_carries_data(object) {
            violations.push(Violation::new(
                FieldPath::root()
                    .keys(&["metadata", "annotations"])
                    .key(LAST_APPLIED),
                format!(
                    "Secret {:?} carries a copy of its data in the {LAST_APPLIED} annotation; \
                     remove the annotation and {REMEDY}",
                    object.name()
                ),
            ));
        }
        violations
    }
}

export_policy!(NoPlaintextSecrets);
