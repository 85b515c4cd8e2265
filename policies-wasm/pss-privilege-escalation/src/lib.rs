//! pss-privilege-escalation: every container must set allowPrivilegeEscalation: false.
//!
//! The "Privilege Escalation" control of the restricted Pod Security Standard
//! (upstream check `allowPrivilegeEscalation`): unset counts as allowed, so every
//! container must say false explicitly. Windows pods (`spec.os.name: windows`) are
//! exempt, as upstream since policy 1.25; Gatekeeper's
//! `K8sPSPAllowPrivilegeEscalationContainer` judges them too (`exemptWindowsPods: false`).

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
    /// Skip Windows pods, as the standard does. Default: true; false judges them like
    /// any pod, as Gatekeeper's template does.
    exempt_windows_pods: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            exempt_images: Vec::new(),
            excluded_containers: Vec::new(),
            exempt_windows_pods: true,
        }
    }
}

struct PrivilegeEscalation {
    settings: Settings,
}

impl Policy for PrivilegeEscalation {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "pss-privilege-escalation",
            "Containers must not allow privilege escalation",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Pod Security Standards, restricted, Privilege Escalation: every init, regular and \
                 ephemeral container must set securityContext.allowPrivilegeEscalation to false. \
                 Otherwise a process can gain more privileges than its parent through setuid \
                 binaries or file capabilities (no_new_privs is not set). Windows pods are exempt \
                 unless exemptWindowsPods is false.",
        )
        .severity(Severity::Medium)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([
            Control::cis(
                "5.2.6",
                "Minimize the admission of containers with allowPrivilegeEscalation",
            ),
            Control::iso27001("A.8.2", "Privileged access rights"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(PrivilegeEscalation { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let settings = &self.settings;
        if settings.exempt_windows_pods && pod.is_windows() {
            return Vec::new();
        }
        pod.containers()
            .filter(|c| !container_exempt(c, &settings.exempt_images, &settings.excluded_containers))
            .filter_map(|c| match c.boolean(&["securityContext", "allowPrivilegeEscalation"]) {
                Ok(Some(false)) => None,
                Ok(_) => Some(Violation::new(
                    c.path.keys(&["securityContext", "allowPrivilegeEscalation"]),
                    format!(
                        "allowPrivilegeEscalation != false: container \"{}\" must set securityContext.allowPrivilegeEscalation=false",
                        c.name()
                    ),
                )),
                Err(wrong_type) => Some(wrong_type),
            })
            .collect()
    }
}

export_policy!(PrivilegeEscalation);
