//! pss-windows-host-process: no Windows HostProcess containers.
//!
//! The "HostProcess" control of the baseline Pod Security Standard (upstream check
//! `windowsHostProcess`): `securityContext.windowsOptions.hostProcess` of the pod and
//! of every container must be unset or false.

use gate_policy_sdk::prelude::*;
use gate_policy_sdk::{SecurityContext, container_exempt};

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

struct WindowsHostProcess {
    settings: Settings,
}

/// A violation if this security context asks for a HostProcess container.
fn host_process(context: &SecurityContext<'_>) -> Option<Violation> {
    match context.boolean(&["windowsOptions", "hostProcess"]) {
        Ok(Some(true)) => Some(Violation::new(
            context.path.keys(&["windowsOptions", "hostProcess"]),
            format!(
                "hostProcess: {} must not set securityContext.windowsOptions.hostProcess=true",
                context.owner
            ),
        )),
        Ok(_) => None,
        Err(wrong_type) => Some(wrong_type),
    }
}

impl Policy for WindowsHostProcess {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "pss-windows-host-process",
            "Windows HostProcess containers are not allowed",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Pod Security Standards, baseline, HostProcess: denies pods and containers that set \
                 securityContext.windowsOptions.hostProcess to true. A HostProcess container runs \
                 directly on the Windows node with the privileges of a node process.",
        )
        .severity(Severity::High)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([
            Control::cis(
                "5.2.11",
                "Minimize the admission of Windows HostProcess Containers",
            ),
            Control::iso27001("A.8.2", "Privileged access rights"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(WindowsHostProcess { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let settings = &self.settings;
        pod.security_contexts(|c| {
            container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
        })
        .iter()
        .filter_map(host_process)
        .collect()
    }
}

export_policy!(WindowsHostProcess);
