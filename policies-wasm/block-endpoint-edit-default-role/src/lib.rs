//! block-endpoint-edit-default-role: the built-in `system:aggregate-to-edit` ClusterRole
//! must not grant write access to Endpoints.
//!
//! Whoever can write Endpoints can point a Service at any IP, including the API
//! server's or another tenant's (CVE-2021-25740). Kubernetes 1.22 removed the
//! permission from the default `edit` role; clusters upgraded from older versions, or
//! a render that ships the role, may still grant it. Gatekeeper's
//! `K8sBlockEndpointEditDefaultRole`.

use gate_policy_sdk::prelude::*;

/// The aggregated ClusterRole whose rules flow into the default `edit` role.
const ROLE: &str = "system:aggregate-to-edit";

/// Settings: none.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {}

struct BlockEndpointEdit;

fn lists(node: Node<'_>, wanted: &[&str]) -> bool {
    node.items()
        .filter_map(|item| item.as_str())
        .any(|value| value == "*" || wanted.contains(&value))
}

impl Policy for BlockEndpointEdit {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "block-endpoint-edit-default-role",
            "The default edit role must not grant write access to Endpoints",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies the system:aggregate-to-edit ClusterRole when a rule lets it create, \
             patch or update Endpoints: with that, any editor can redirect a Service to an \
             arbitrary IP (CVE-2021-25740). Gatekeeper K8sBlockEndpointEditDefaultRole.",
        )
        .severity(Severity::High)
        .category("rbac")
        .targets([KindSelector::new(
            "rbac.authorization.k8s.io",
            "ClusterRole",
        )])
        .controls([Control::iso27001("A.5.15", "Access control")])
    }

    fn new(_settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(BlockEndpointEdit)
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if object.name() != ROLE {
            return Vec::new();
        }
        let base = FieldPath::root().key("rules");
        object
            .root
            .get("rules")
            .items()
            .enumerate()
            .filter(|(_, rule)| {
                lists(rule.get("resources"), &["endpoints"])
                    && lists(rule.get("verbs"), &["create", "patch", "update"])
            })
            .map(|(i, _)| {
                Violation::new(
                    base.index(i),
                    format!(
                        "ClusterRole {ROLE} must not allow creating, patching or updating \
                         endpoints (CVE-2021-25740); on Kubernetes before 1.22 also annotate it \
                         rbac.authorization.kubernetes.io/autoupdate: \"false\""
                    ),
                )
            })
            .collect()
    }
}

export_policy!(BlockEndpointEdit);
