//! required-resources: containers declare the resource limits and requests you name.
//!
//! Settings take the parameters of Gatekeeper's `K8sRequiredResources`: `limits` and
//! `requests` list the resources that must be set (`cpu`, `memory`, or any other
//! resource name such as `ephemeral-storage`), `exemptImages` the images that need not;
//! with neither list nothing is required. Unlike `container-limits` there is no maximum.
//! Ephemeral containers cannot set resources, so only init and regular containers count.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;
use gate_policy_sdk::quantity::Cap;

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Resources every container must set a limit for, e.g. `[cpu, memory]`.
    limits: Vec<String>,
    /// Resources every container must set a request for, e.g. `[cpu, memory]`.
    requests: Vec<String>,
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

struct RequiredResources {
    settings: Settings,
}

impl Policy for RequiredResources {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "required-resources",
            "Containers must declare the required resource limits and requests",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies init and regular containers that do not set a limit or a request for \
             each resource the settings name. Requests let the scheduler reserve capacity; \
             limits keep one container from starving its node. Gatekeeper \
             K8sRequiredResources, with its parameter names.",
        )
        .severity(Severity::Medium)
        .category("resources")
        .targets(workload_kinds())
        .controls([Control::iso27001("A.8.6", "Capacity management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let errors: Vec<SettingsError> = [
            ("limits", &settings.limits),
            ("requests", &settings.requests),
        ]
        .into_iter()
        .flat_map(|(field, names)| {
            names
                .iter()
                .enumerate()
                .filter(|(_, name)| name.trim().is_empty())
                .map(move |(i, _)| SettingsError::new(format!("{field}[{i}]"), "must not be empty"))
        })
        .collect();
        if errors.is_empty() {
            Ok(RequiredResources { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let required = Cap::Required(None);
        let wanted: Vec<(&str, &str)> = self
            .settings
            .limits
            .iter()
            .map(|r| ("limits", r.as_str()))
            .chain(
                self.settings
                    .requests
                    .iter()
                    .map(|r| ("requests", r.as_str())),
            )
            .collect();
        containers(object)
            .filter(|c| c.list != ContainerList::Ephemeral)
            .filter(|c| {
                !container_exempt(
                    c,
                    &self.settings.exempt_images,
                    &self.settings.excluded_containers,
                )
            })
            .flat_map(|c| {
                wanted
                    .iter()
                    .filter_map(|(list, resource)| required.check(&c, list, resource))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

export_policy!(RequiredResources);
