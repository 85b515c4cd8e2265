//! ephemeral-storage-limit: every container sets an ephemeral-storage limit, at most a
//! maximum.
//!
//! Logs, emptyDir volumes and the writable layer share the node's disk; a container
//! without an ephemeral-storage limit can fill it and get every pod on the node evicted.
//! Settings take the parameters of Gatekeeper's `K8sContainerEphemeralStorageLimit`
//! (`ephemeral-storage`, `exemptImages`). Ephemeral containers cannot set resources.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;
use gate_policy_sdk::quantity::{Cap, Quantity};

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The highest ephemeral-storage limit allowed (`"500Mi"`); `"-1"` turns the rule off.
    #[serde(rename = "ephemeral-storage")]
    ephemeral_storage: Option<Quantity>,
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

struct EphemeralStorageLimit {
    cap: Cap,
    settings: Settings,
}

impl Policy for EphemeralStorageLimit {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "ephemeral-storage-limit",
            "Containers must set an ephemeral-storage limit",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies init and regular containers that set no ephemeral-storage limit, or one \
             above the configured maximum. Logs, emptyDir volumes and writable layers share \
             the node's disk; one unbounded container can fill it and have the node evict \
             every pod. Gatekeeper K8sContainerEphemeralStorageLimit, with its parameter names.",
        )
        .severity(Severity::Medium)
        .category("resources")
        .targets(workload_kinds())
        .controls([Control::iso27001("A.8.6", "Capacity management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let cap = Cap::from_setting("ephemeral-storage", settings.ephemeral_storage.as_ref())
            .map_err(|e| vec![e])?;
        Ok(EphemeralStorageLimit { cap, settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        containers(object)
            .filter(|c| c.list != ContainerList::Ephemeral)
            .filter(|c| {
                !container_exempt(
                    c,
                    &self.settings.exempt_images,
                    &self.settings.excluded_containers,
                )
            })
            .filter_map(|c| self.cap.check(&c, "limits", "ephemeral-storage"))
            .collect()
    }
}

export_policy!(EphemeralStorageLimit);
