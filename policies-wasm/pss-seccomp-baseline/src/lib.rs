//! pss-seccomp-baseline: pods and containers must not disable seccomp.
//!
//! The "Seccomp" control of the baseline Pod Security Standard (upstream check
//! `seccompProfile_baseline`): `securityContext.seccompProfile.type` of the pod and of
//! every container must not be `Unconfined`. Unset is allowed at this level.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

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
fn unconfined(security_context: Node<'_>, path: &FieldPath, who: &str) -> Option<Violation> {
    (security_context.path(&["seccompProfile", "type"]).as_str() == Some("Unconfined")).then(|| {
        Violation::new(
            path.keys(&["securityContext", "seccompProfile", "type"]),
            format!("seccompProfile: {who} must not set securityContext.seccompProfile.type to \"Unconfined\""),
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
        let pod_level = unconfined(pod.security_context(), &pod.path, "pod");
        let containers: Vec<Violation> = pod
            .containers()
            .filter(|c| {
                !container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
            })
            .filter_map(|c| {
                unconfined(
                    c.security_context(),
                    &c.path,
                    &format!("container \"{}\"", c.name()),
                )
            })
            .collect();
        pod_level.into_iter().chain(containers).collect()
    }
}

export_policy!(SeccompBaseline);
