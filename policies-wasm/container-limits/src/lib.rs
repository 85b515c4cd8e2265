//! container-limits: every container sets CPU and memory limits, at most a maximum.
//!
//! A container without limits can take a whole node's CPU or memory and starve its
//! neighbours. Settings take the parameters of Gatekeeper's `K8sContainerLimits`
//! (`cpu`, `memory`, `exemptImages`) and of Azure Policy's "Kubernetes cluster containers
//! CPU and memory resource limits should not exceed the specified limits" (`cpuLimit`,
//! `memoryLimit`, `excludedImages`, `excludedContainers`). A maximum of `"-1"` turns off
//! the rule for that resource; no maximum only requires the limit to be set.
//! Ephemeral containers cannot set resources, so only init and regular containers count.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;
use gate_policy_sdk::quantity::{CpuMemoryCaps, Quantity};

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The highest CPU limit allowed (`"500m"`, `2`); `"-1"` does not check CPU at all.
    #[serde(alias = "cpuLimit")]
    cpu: Option<Quantity>,
    /// The highest memory limit allowed (`"1Gi"`); `"-1"` does not check memory at all.
    #[serde(alias = "memoryLimit")]
    memory: Option<Quantity>,
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

struct ContainerLimits {
    caps: CpuMemoryCaps,
    settings: Settings,
}

impl Policy for ContainerLimits {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "container-limits",
            "Containers must set CPU and memory limits",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies init and regular containers that set no CPU or memory limit, or a \
                 limit above the configured maximum. Without limits one container can starve \
                 every other workload on its node. Gatekeeper K8sContainerLimits and Azure \
                 Policy's container limits definition, with their parameter names.",
        )
        .severity(Severity::Medium)
        .category("resources")
        .targets(workload_kinds())
        .controls([Control::iso27001("A.8.6", "Capacity management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let caps = CpuMemoryCaps::from_settings(settings.cpu.as_ref(), settings.memory.as_ref())?;
        Ok(ContainerLimits { caps, settings })
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
            .flat_map(|c| self.caps.check(&c, "limits"))
            .collect()
    }
}

export_policy!(ContainerLimits);
