//! container-resource-ratios: a container's limits stay within a ratio of its requests.
//!
//! The scheduler reserves requests; limits far above them let a node be overcommitted
//! until the kernel starts killing processes. Settings take the parameters of
//! Gatekeeper's `K8sContainerRatios`: `ratio` caps limit/request for memory (and CPU
//! unless `cpuRatio` is given). Every init and regular container must set CPU and memory
//! limits and requests for the ratio to mean anything.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;
use gate_policy_sdk::quantity::{self, Cap, Quantity};

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The highest limit/request ratio for memory, and for CPU unless `cpuRatio` is set.
    ratio: Option<Quantity>,
    /// The highest limit/request ratio for CPU.
    cpu_ratio: Option<Quantity>,
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

struct ContainerRatios {
    /// (resource, ratio as written, ratio).
    ratios: Vec<(&'static str, String, f64)>,
    settings: Settings,
}

fn ratio(field: &str, setting: &Quantity) -> Result<(String, f64), SettingsError> {
    match setting.value() {
        Some(v) if v > 0.0 => Ok((setting.to_string(), v)),
        _ => Err(SettingsError::new(
            field,
            format!("{setting} is not a positive number"),
        )),
    }
}

impl ContainerRatios {
    fn check(&self, container: &Container<'_>) -> Vec<Violation> {
        let required = Cap::Required(None);
        let mut out: Vec<Violation> = ["limits", "requests"]
            .into_iter()
            .flat_map(|list| ["cpu", "memory"].map(|resource| (list, resource)))
            .filter_map(|(list, resource)| required.check(container, list, resource))
            .collect();
        for (resource, written, ratio) in &self.ratios {
            let limit_node = container.node.path(&["resources", "limits", resource]);
            let limit = quantity::of(limit_node);
            let request = quantity::of(container.node.path(&["resources", "requests", resource]));
            if let (Some(limit), Some(request)) = (limit, request)
                && quantity::exceeds(limit, ratio * request)
            {
                out.push(Violation::new(
                    container.path.keys(&["resources", "limits", resource]),
                    format!(
                        "{} {resource} limit {} is higher than the maximum allowed ratio of {written} to its request",
                        container.describe(),
                        quantity::text(limit_node)
                    ),
                ));
            }
        }
        out
    }
}

impl Policy for ContainerRatios {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "container-resource-ratios",
            "Container limits must stay within a ratio of their requests",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies init and regular containers whose CPU or memory limit exceeds its request \
             times the configured ratio, or that do not set both. Limits far above requests \
             overcommit nodes until the kernel kills processes. Gatekeeper \
             K8sContainerRatios, with its parameter names.",
        )
        .severity(Severity::Medium)
        .category("resources")
        .targets(workload_kinds())
        .controls([Control::iso27001("A.8.6", "Capacity management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let mut ratios = Vec::new();
        let mut errors = Vec::new();
        let cpu = settings.cpu_ratio.as_ref().map(|r| ("cpuRatio", r));
        let memory = settings.ratio.as_ref().map(|r| ("ratio", r));
        for (resource, setting) in [("cpu", cpu.or(memory)), ("memory", memory)] {
            match setting.map(|(field, r)| ratio(field, r)) {
                Some(Ok((written, value))) => ratios.push((resource, written, value)),
                Some(Err(e)) => errors.push(e),
                None => {}
            }
        }
        errors.dedup();
        if errors.is_empty() {
            Ok(ContainerRatios { ratios, settings })
        } else {
            Err(errors)
        }
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
            .flat_map(|c| self.check(&c))
            .collect()
    }
}

export_policy!(ContainerRatios);
