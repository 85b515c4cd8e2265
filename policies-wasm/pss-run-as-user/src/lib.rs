//! pss-run-as-user: the pod and its containers must not set runAsUser to 0.
//!
//! The "Running as Non-root user" control of the restricted Pod Security Standard
//! (upstream check `runAsUser`, policy 1.23+): `securityContext.runAsUser` of the pod
//! and of every container must be unset or non-zero. Pods in a user namespace
//! (`spec.hostUsers: false`) are exempt, as upstream since policy 1.35.

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

struct RunAsUser {
    settings: Settings,
}

/// A violation if this security context sets `runAsUser: 0`.
/// A `runAsUser` of another type (`"0"`) is a violation too: it is not unset.
fn root_user(context: &SecurityContext<'_>) -> Option<Violation> {
    match context.integer(&["runAsUser"]) {
        Ok(Some(0)) => Some(Violation::new(
            context.path.key("runAsUser"),
            format!("runAsUser=0: {} must not set runAsUser=0", context.owner),
        )),
        Ok(_) => None,
        Err(wrong_type) => Some(wrong_type),
    }
}

impl Policy for RunAsUser {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("pss-run-as-user", "Containers must not run as UID 0")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Pod Security Standards, restricted, Running as Non-root user: denies pods and \
                 init, regular and ephemeral containers that set securityContext.runAsUser to 0, \
                 the root user. Pods with hostUsers: false are exempt.",
            )
            .severity(Severity::Medium)
            .category("pod-security")
            .targets(workload_kinds())
            .controls([
                Control::cis("5.2.7", "Minimize the admission of root containers"),
                Control::iso27001("A.8.2", "Privileged access rights"),
            ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(RunAsUser { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        if pod.in_user_namespace() {
            return Vec::new();
        }
        let settings = &self.settings;
        pod.security_contexts(|c| {
            container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
        })
        .iter()
        .filter_map(root_user)
        .collect()
    }
}

export_policy!(RunAsUser);
