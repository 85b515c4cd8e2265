//! block-nodeport-services: no Service of type NodePort.
//!
//! A NodePort Service opens the same port on every node of the cluster, reachable by
//! anything that can reach a node, outside any ingress or network policy at the edge.
//! Gatekeeper's `K8sBlockNodePort`.

use gate_policy_sdk::prelude::*;

/// Settings: none.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {}

struct BlockNodePort;

impl Policy for BlockNodePort {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "block-nodeport-services",
            "Services must not be of type NodePort",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies Services of type NodePort, which open a port on every node of the \
                 cluster, outside the ingress layer. Gatekeeper K8sBlockNodePort.",
        )
        .severity(Severity::Medium)
        .category("networking")
        .targets([KindSelector::new("", "Service")])
        .controls([Control::iso27001("A.8.20", "Networks security")])
    }

    fn new(_settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(BlockNodePort)
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if object.path(&["spec", "type"]).as_str() != Some("NodePort") {
            return Vec::new();
        }
        vec![Violation::new(
            "spec.type",
            format!(
                "Service {:?} is of type NodePort, which opens its port on every node",
                object.name()
            ),
        )]
    }
}

export_policy!(BlockNodePort);
