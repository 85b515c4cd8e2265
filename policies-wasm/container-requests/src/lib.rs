//! container-requests: every container sets CPU and memory requests, at most a maximum.
//!
//! The scheduler places pods by their requests; a container without requests is placed
//! as if it needed nothing and is the first evicted under pressure. Settings take the
//! parameters of Gatekeeper's `K8sContainerRequests` (`cpu`, `memory`, `exemptImages`),
//! plus Azure's `excludedImages` and `excludedContainers`. A maximum of `"-1"` turns off
//! the rule for that resource; no maximum only requires the request to be set.
//! Ephemeral containers cannot set resources, so only init and regular containers count.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;
use gate_policy_sdk::quantity::{CpuMemoryCaps, Quantity};

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The highest CPU request allowed (`"500m"`, `2`); `"-1"` does not check CPU at all.
    cpu: Option<Quantity>,
    /// The highest memory request allowed (`"1Gi"`); `"-1"` does not check memory at all.
    memory: Option<Quantity>,
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

struct ContainerRequests {
    caps: CpuMemoryCaps,
    settings: Settings,
}

impl Policy for ContainerRequests {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "container-requests",
            "Containers must set CPU and memory requests",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies init and regular containers that set no CPU or memory request, or a \
                 request above the configured maximum. The scheduler reserves capacity by \
                 requests: without them a node is overcommitted and the container is evicted \
                 first. Gatekeeper K8sContainerRequests, with its parameter names.",
        )
        .severity(Severity::Medium)
        .category("resources")
        .targets(workload_kinds())
        .controls([Control::iso27001("A.8.6", "Capacity management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let caps = CpuMemoryCaps::from_settings(settings.cpu.as_ref(), settings.memory.as_ref())?;
        Ok(ContainerRequests { caps, settings })
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
            .flat_map(|c| self.caps.check(&c, "requests"))
            .collect()
    }
}

export_policy!(ContainerRequests);
