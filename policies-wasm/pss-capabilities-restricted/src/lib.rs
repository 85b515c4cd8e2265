//! pss-capabilities-restricted: containers must drop ALL capabilities and may add back
//! only NET_BIND_SERVICE.
//!
//! The "Capabilities" control of the restricted Pod Security Standard (upstream check
//! `capabilities_restricted`, which replaces `capabilities_baseline` at that level).
//! Windows pods (`spec.os.name: windows`) are exempt, as upstream since policy 1.25.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Capabilities a container may add. Default: `NET_BIND_SERVICE`.
    allowed_capabilities: Vec<String>,
    /// Capabilities every container must drop; dropping `ALL` satisfies any.
    /// Default: `ALL`.
    required_drop_capabilities: Vec<String>,
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed_capabilities: vec!["NET_BIND_SERVICE".to_owned()],
            required_drop_capabilities: vec!["ALL".to_owned()],
            exempt_images: Vec::new(),
            excluded_containers: Vec::new(),
        }
    }
}

struct CapabilitiesRestricted {
    settings: Settings,
}

impl CapabilitiesRestricted {
    /// The required capabilities a container's `drop` list does not cover.
    fn missing_drops(&self, drop: Node<'_>) -> Vec<&str> {
        let dropped: Vec<&str> = drop.items().filter_map(|c| c.as_str()).collect();
        if dropped.contains(&"ALL") {
            return Vec::new();
        }
        self.settings
            .required_drop_capabilities
            .iter()
            .map(String::as_str)
            .filter(|required| !dropped.contains(required))
            .collect()
    }

    fn check(&self, c: &Container<'_>) -> Vec<Violation> {
        let capabilities = c.security_context().get("capabilities");
        let base = c.path.keys(&["securityContext", "capabilities"]);
        let mut violations = Vec::new();
        let missing = self.missing_drops(capabilities.get("drop"));
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|m| format!("{m:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            violations.push(Violation::new(
                base.key("drop"),
                format!(
                    "unrestricted capabilities: container \"{}\" must set securityContext.capabilities.drop=[{list}]",
                    c.name()
                ),
            ));
        }
        for (i, capability) in capabilities.get("add").items().enumerate() {
            let allowed = capability
                .as_str()
                .is_some_and(|name| self.settings.allowed_capabilities.iter().any(|a| a == name));
            if !allowed {
                let shown = capability.as_str().map_or_else(
                    || "a value that is not a string".to_owned(),
                    |n| format!("{n:?}"),
                );
                violations.push(Violation::new(
                    base.key("add").index(i),
                    format!(
                        "unrestricted capabilities: container \"{}\" must not include {shown} in securityContext.capabilities.add",
                        c.name()
                    ),
                ));
            }
        }
        violations
    }
}

impl Policy for CapabilitiesRestricted {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "pss-capabilities-restricted",
            "Containers must drop ALL capabilities and add only NET_BIND_SERVICE",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Pod Security Standards, restricted, Capabilities: every init, regular and \
             ephemeral container must set securityContext.capabilities.drop to include ALL, \
             and may add back only NET_BIND_SERVICE. A container then holds no kernel \
             capability it did not ask for. Windows pods are exempt.",
        )
        .severity(Severity::Medium)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([
            Control::cis(
                "5.2.8",
                "Minimize the admission of containers with the NET_RAW capability",
            ),
            Control::cis(
                "5.2.9",
                "Minimize the admission of containers with added capabilities",
            ),
            Control::cis(
                "5.2.10",
                "Minimize the admission of containers with capabilities assigned",
            ),
            Control::iso27001("A.8.2", "Privileged access rights"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(CapabilitiesRestricted { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        if pod.is_windows() {
            return Vec::new();
        }
        let settings = &self.settings;
        pod.containers()
            .filter(|c| {
                !container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
            })
            .flat_map(|c| self.check(&c))
            .collect()
    }
}

export_policy!(CapabilitiesRestricted);
