//! pss-seccomp-baseline: pods and containers must not disable seccomp.
//!
//! The "Seccomp" control of the baseline Pod Security Standard (upstream check
//! `seccompProfile_baseline`): `securityContext.seccompProfile.type` of the pod and of
//! every container must not be `Unconfined`. Unset is allowed at this level.

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

struct SeccompBaseline {
    settings: Settings,
}

/// A violation if this security context sets seccomp to `Unconfined`.
fn unconfined(context: &SecurityContext<'_>) -> Option<Violation> {
    (context.node.path(&["seccompProfile", "type"]).as_str() == Some("Unconfined")).then(|| {
        Violation::new(
            context.path.keys(&["seccompProfile", "type"]),
            format!(
                "seccompProfile: {} must not set securityContext.seccompProfile.type to \"Unconfined\"",
                context.owner
            ),
        )
    })
}

impl Policy for SeccompBaseline {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("pss-seccomp-baseline", "Seccomp must not be disabled")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Pod Security Standards, baseline, Seccomp: denies pods and containers that set \
                 securityContext.seccompProfile.type to Unconfined. Without a seccomp filter every \
                 system call of the kernel is reachable from the container.",
            )
            .severity(Severity::Medium)
            .category("pod-security")
            .targets(workload_kinds())
            .controls([Control::cis(
                "5.7.2",
                "Ensure that the seccomp profile is set to docker/default in your Pod definitions",
            )])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(SeccompBaseline { settings })
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
        .filter_map(unconfined)
        .collect()
    }
}

export_policy!(SeccompBaseline);
