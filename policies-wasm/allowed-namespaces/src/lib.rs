//! allowed-namespaces: objects go to approved namespaces, never to `default`.
//!
//! The `default` namespace is where everything lands when nobody chose: no owner, no
//! quotas, no network policies, and every RoleBinding made for it applies to whatever
//! else lands there. Azure Policy's "Kubernetes clusters should not use the default
//! namespace" and CIS 5.7.4. `deniedNamespaces` defaults to `[default]`; with
//! `allowedNamespaces`, only those namespaces are accepted. Objects that set no
//! namespace are left to the deploy tool's target namespace (use the bundle's
//! `namespaces` and `excludedNamespaces`, or `gate check --namespace`, for those).

use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// If not empty, the only namespaces objects may be in.
    allowed_namespaces: Vec<String>,
    /// Namespaces objects must not be in. Default: `[default]`.
    denied_namespaces: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed_namespaces: Vec::new(),
            denied_namespaces: vec!["default".to_owned()],
        }
    }
}

struct AllowedNamespaces {
    settings: Settings,
}

impl Policy for AllowedNamespaces {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "allowed-namespaces",
            "Objects must not use the default namespace",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies namespaced objects placed in a denied namespace (default: the default \
             namespace) or, when allowedNamespaces is set, outside the allowed ones. The \
             default namespace has no owner, quotas or network policies of its own. Azure \
             Policy's default-namespace definition.",
        )
        .severity(Severity::Medium)
        .category("multi-tenancy")
        .targets([KindSelector::any()])
        .controls([
            Control::cis("5.7.4", "The default namespace should not be used"),
            Control::cis(
                "5.7.1",
                "Create administrative boundaries between resources using namespaces",
            ),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(AllowedNamespaces { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let namespace = object.namespace();
        if namespace.is_empty() {
            return Vec::new();
        }
        let denied = self
            .settings
            .denied_namespaces
            .iter()
            .any(|n| n == namespace);
        let allowed = self.settings.allowed_namespaces.is_empty()
            || self
                .settings
                .allowed_namespaces
                .iter()
                .any(|n| n == namespace);
        if !denied && allowed {
            return Vec::new();
        }
        let message = if denied {
            format!(
                "{} {:?} is in the namespace {namespace:?}, which must not be used",
                object.kind(),
                object.name()
            )
        } else {
            format!(
                "{} {:?} is in the namespace {namespace:?}, which is not allowed (allowed: {})",
                object.kind(),
                object.name(),
                self.settings.allowed_namespaces.join(", ")
            )
        };
        vec![Violation::new("metadata.namespace", message)]
    }
}

export_policy!(AllowedNamespaces);
