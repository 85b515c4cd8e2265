//! pss-run-as-non-root: containers must be required to run as a non-root user.
//!
//! The "Running as Non-root" control of the restricted Pod Security Standard (upstream
//! check `runAsNonRoot`): `securityContext.runAsNonRoot` must be true on the pod
//! (containers inherit it) or on every container, and neither the pod nor a container
//! may set it to false. Pods in a user namespace (`spec.hostUsers: false`) are exempt,
//! as upstream since policy 1.35: root in the pod is not root on the node.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Also accept a container whose effective `runAsUser` (its own, else the pod's)
    /// is a non-zero UID, as Azure Policy and Gatekeeper's `MustRunAsNonRoot` rule do.
    /// Default: false, as the Pod Security Standards.
    accept_non_zero_run_as_user: bool,
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

struct RunAsNonRoot {
    settings: Settings,
}

impl RunAsNonRoot {
    /// Does the container run as a non-zero UID by its own or the pod's `runAsUser`?
    /// A `runAsUser` of the wrong type is no evidence of a non-root user.
    fn non_zero_user(&self, pod: &PodSpec<'_>, c: &Container<'_>) -> bool {
        let user = match c.integer(&["securityContext", "runAsUser"]) {
            Ok(None) => pod.integer(&["securityContext", "runAsUser"]),
            own => own,
        };
        self.settings.accept_non_zero_run_as_user && matches!(user, Ok(Some(uid)) if uid != 0)
    }
}

impl Policy for RunAsNonRoot {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("pss-run-as-non-root", "Containers must run as non-root")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Pod Security Standards, restricted, Running as Non-root: the pod, or else every \
                 init, regular and ephemeral container, must set securityContext.runAsNonRoot to \
                 true, and none may set it to false. The kubelet then refuses to start a container \
                 whose user is root. Pods with hostUsers: false are exempt.",
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
        Ok(RunAsNonRoot { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        if pod.in_user_namespace() {
            return Vec::new();
        }
        let mut violations = Vec::new();
        // A pod-level value of the wrong type is a violation, and no container inherits it.
        let pod_value = pod
            .boolean(&["securityContext", "runAsNonRoot"])
            .unwrap_or_else(|wrong_type| {
                violations.push(wrong_type);
                None
            });
        if pod_value == Some(false) {
            violations.push(Violation::new(
                pod.path.keys(&["securityContext", "runAsNonRoot"]),
                "runAsNonRoot != true: pod must not set securityContext.runAsNonRoot=false",
            ));
        }
        let settings = &self.settings;
        for c in pod.containers() {
            if container_exempt(&c, &settings.exempt_images, &settings.excluded_containers) {
                continue;
            }
            let path = c.path.keys(&["securityContext", "runAsNonRoot"]);
            let value = match c.boolean(&["securityContext", "runAsNonRoot"]) {
                Ok(value) => value,
                Err(wrong_type) => {
                    violations.push(wrong_type);
                    continue;
                }
            };
            match value {
                Some(true) => {}
                Some(false) => violations.push(Violation::new(
                    path,
                    format!(
                        "runAsNonRoot != true: container \"{}\" must not set securityContext.runAsNonRoot=false",
                        c.name()
                    ),
                )),
                None if pod_value == Some(true) || self.non_zero_user(&pod, &c) => {}
                None => violations.push(Violation::new(
                    path,
                    format!(
                        "runAsNonRoot != true: pod or container \"{}\" must set securityContext.runAsNonRoot=true",
                        c.name()
                    ),
                )),
            }
        }
        violations
    }
}

export_policy!(RunAsNonRoot);
