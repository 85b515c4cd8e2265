//! pss-proc-mount: containers must keep the default /proc masks.
//!
//! The "/proc Mount Type" control of the Pod Security Standards. Baseline (upstream
//! check `procMount`) forbids a `securityContext.procMount` other than `Default`
//! unless the pod runs in a user namespace (`spec.hostUsers: false`, policy 1.35+);
//! restricted (upstream check `procMount_restricted`) forbids it in every pod. One
//! crate serves both: the restricted bundle sets `allowUnmaskedInUserNamespaces: false`.
//! The Gatekeeper library's `K8sPSPProcMount` parameter `procMount: Unmasked` allows any.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allow any procMount in pods with `hostUsers: false` (the baseline standard).
    /// Set false for the restricted standard. Default: true.
    allow_unmasked_in_user_namespaces: bool,
    /// The most open procMount allowed (the Gatekeeper library's `procMount`):
    /// `Default` (the default) or `Unmasked`, which allows any.
    proc_mount: ProcMountType,
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allow_unmasked_in_user_namespaces: true,
            proc_mount: ProcMountType::Default,
            exempt_images: Vec::new(),
            excluded_containers: Vec::new(),
        }
    }
}

/// The procMount types of the API; Gatekeeper compares them case-insensitively.
#[derive(Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
enum ProcMountType {
    /// The container runtime's default masks and read-only paths.
    #[serde(alias = "default")]
    Default,
    /// No masks.
    #[serde(alias = "unmasked")]
    Unmasked,
}

struct ProcMount {
    settings: Settings,
}

impl Policy for ProcMount {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "pss-proc-mount",
            "Containers must use the default /proc mount",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Pod Security Standards, /proc Mount Type: denies init, regular and ephemeral \
                 containers whose securityContext.procMount is set to anything but Default. An \
                 Unmasked /proc exposes kernel interfaces that the default masks hide. Baseline \
                 allows it in pods with hostUsers: false, where the user namespace contains it; \
                 restricted (allowUnmaskedInUserNamespaces: false) does not.",
        )
        .severity(Severity::Medium)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([Control::cis(
            "5.7.3",
            "Apply SecurityContext to your Pods and Containers",
        )])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(ProcMount { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let settings = &self.settings;
        if settings.proc_mount == ProcMountType::Unmasked
            || (settings.allow_unmasked_in_user_namespaces && pod.in_user_namespace())
        {
            return Vec::new();
        }
        pod.containers()
            .filter(|c| !container_exempt(c, &settings.exempt_images, &settings.excluded_containers))
            .filter_map(|c| {
                let proc_mount = c.security_context().get("procMount");
                if proc_mount.is_null() || proc_mount.as_str() == Some("Default") {
                    return None;
                }
                let shown = proc_mount
                    .as_str()
                    .map_or_else(|| "a value that is not a string".to_owned(), |v| format!("{v:?}"));
                Some(Violation::new(
                    c.path.keys(&["securityContext", "procMount"]),
                    format!(
                        "procMount: container \"{}\" must not set securityContext.procMount to {shown}",
                        c.name()
                    ),
                ))
            })
            .collect()
    }
}

export_policy!(ProcMount);
