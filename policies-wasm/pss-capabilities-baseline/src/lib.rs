//! pss-capabilities-baseline: containers may add only the default capabilities.
//!
//! The "Capabilities" control of the baseline Pod Security Standard (upstream check
//! `capabilities_baseline`): `securityContext.capabilities.add` may only name
//! capabilities of the container runtimes' default set. Names are case-sensitive and
//! carry no `CAP_` prefix, as in the API. `requiredDropCapabilities` (the Gatekeeper
//! library's `K8sPSPCapabilities` parameter, unset in the standard) can also require drops.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// The capabilities the baseline standard lets a container add.
const BASELINE_ALLOWED: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Capabilities a container may add; `*` allows any. Default: the baseline
    /// standard's list (the runtimes' default set, without NET_RAW).
    allowed_capabilities: Vec<String>,
    /// Capabilities every container must drop; dropping `ALL` satisfies any. Default:
    /// none, as in the baseline standard.
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
            allowed_capabilities: BASELINE_ALLOWED.map(str::to_owned).to_vec(),
            required_drop_capabilities: Vec::new(),
            exempt_images: Vec::new(),
            excluded_containers: Vec::new(),
        }
    }
}

struct CapabilitiesBaseline {
    settings: Settings,
}

impl CapabilitiesBaseline {
    fn allows(&self, capability: Option<&str>) -> bool {
        capability.is_some_and(|name| {
            self.settings
                .allowed_capabilities
                .iter()
                .any(|allowed| allowed == "*" || allowed == name)
        })
    }

    /// A violation if the container's `drop` list misses a required capability.
    fn missing_drops(&self, c: &Container<'_>) -> Option<Violation> {
        let dropped: Vec<&str> = c
            .security_context()
            .path(&["capabilities", "drop"])
            .items()
            .filter_map(|d| d.as_str())
            .collect();
        if dropped.contains(&"ALL") {
            return None;
        }
        let missing: Vec<String> = self
            .settings
            .required_drop_capabilities
            .iter()
            .filter(|required| !dropped.contains(&required.as_str()))
            .map(|m| format!("{m:?}"))
            .collect();
        (!missing.is_empty()).then(|| {
            Violation::new(
                c.path.keys(&["securityContext", "capabilities", "drop"]),
                format!(
                    "required drops: container \"{}\" must set securityContext.capabilities.drop=[{}]",
                    c.name(),
                    missing.join(", ")
                ),
            )
        })
    }
}

impl Policy for CapabilitiesBaseline {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("pss-capabilities-baseline", "Containers must not add capabilities beyond the default set")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Pod Security Standards, baseline, Capabilities: denies init, regular and \
                 ephemeral containers whose securityContext.capabilities.add names a capability \
                 outside AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, \
                 NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT. Capabilities \
                 such as SYS_ADMIN or NET_RAW hand a container kernel powers that lead to the node.",
            )
            .severity(Severity::High)
            .category("pod-security")
            .targets(workload_kinds())
            .controls([
                Control::cis("5.2.9", "Minimize the admission of containers with added capabilities"),
                Control::iso27001("A.8.2", "Privileged access rights"),
            ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(CapabilitiesBaseline { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let settings = &self.settings;
        containers(object)
            .filter(|c| !container_exempt(c, &settings.exempt_images, &settings.excluded_containers))
            .flat_map(|c| {
                let add = c.security_context().path(&["capabilities", "add"]);
                let base = c.path.keys(&["securityContext", "capabilities", "add"]);
                add.items()
                    .enumerate()
                    .filter(|(_, capability)| !self.allows(capability.as_str()))
                    .map(|(i, capability)| {
                        Violation::new(
                            base.index(i),
                            format!(
                                "non-default capabilities: container \"{}\" must not include {} in securityContext.capabilities.add",
                                c.name(),
                                display(capability)
                            ),
                        )
                    })
                    .chain(self.missing_drops(&c))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// A capability for a message: quoted when it is a string, else described.
fn display(capability: Node<'_>) -> String {
    match capability.as_str() {
        Some(name) => format!("{name:?}"),
        None => "a value that is not a string".to_owned(),
    }
}

export_policy!(CapabilitiesBaseline);
