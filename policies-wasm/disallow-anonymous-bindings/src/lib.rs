//! disallow-anonymous-bindings: no RoleBinding or ClusterRoleBinding grants a role to
//! anonymous or unauthenticated users.
//!
//! Binding a role to `system:anonymous` or `system:unauthenticated` gives it to anyone
//! who can reach the API server, with no credentials at all; binding to
//! `system:authenticated` gives it to every identity the cluster trusts (on some
//! providers, every account of the provider). Settings take the parameters of
//! Gatekeeper's `K8sDisallowAnonymous`: `allowedRoles` (roles that may be granted
//! anyway) and `disallowAuthenticated`.

use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Roles (by `roleRef.name`) that may be bound to these groups anyway.
    allowed_roles: Vec<String>,
    /// Also deny bindings to `system:authenticated`.
    disallow_authenticated: bool,
}

struct DisallowAnonymous {
    settings: Settings,
}

impl DisallowAnonymous {
    /// Why a subject name must not be bound, if it must not.
    fn reason(&self, subject: &str) -> Option<&'static str> {
        match subject {
            "system:anonymous" => Some("every request without credentials"),
            "system:unauthenticated" => Some("every request without credentials"),
            "system:authenticated" if self.settings.disallow_authenticated => {
                Some("every identity the cluster trusts")
            }
            _ => None,
        }
    }
}

impl Policy for DisallowAnonymous {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "disallow-anonymous-bindings",
            "Roles must not be bound to anonymous or unauthenticated users",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies RoleBindings and ClusterRoleBindings whose subjects include \
             system:anonymous or system:unauthenticated (and system:authenticated with \
             disallowAuthenticated), unless the role is in allowedRoles: such a binding \
             grants the role to anyone who can reach the API server. Gatekeeper \
             K8sDisallowAnonymous, with its parameter names.",
        )
        .severity(Severity::Critical)
        .category("rbac")
        .targets([
            KindSelector::new("rbac.authorization.k8s.io", "RoleBinding"),
            KindSelector::new("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ])
        .controls([
            Control::iso27001("A.5.15", "Access control"),
            Control::iso27001("A.8.5", "Secure authentication"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(DisallowAnonymous { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let role = object
            .path(&["roleRef", "name"])
            .as_str()
            .unwrap_or_default();
        if self.settings.allowed_roles.iter().any(|r| r == role) {
            return Vec::new();
        }
        let role_kind = object.path(&["roleRef", "kind"]).as_str().unwrap_or("role");
        let base = FieldPath::root().key("subjects");
        object
            .root
            .get("subjects")
            .items()
            .enumerate()
            .filter_map(|(i, subject)| {
                let name = subject.str("name").unwrap_or_default();
                let reason = self.reason(name)?;
                Some(Violation::new(
                    base.index(i).key("name"),
                    format!(
                        "{} {:?} grants {role_kind} {role:?} to {name:?}, that is to {reason}",
                        object.kind(),
                        object.name()
                    ),
                ))
            })
            .collect()
    }
}

export_policy!(DisallowAnonymous);
