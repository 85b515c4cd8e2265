//! pss-apparmor: pods and containers must not disable AppArmor.
//!
//! The "AppArmor" control of the baseline Pod Security Standard (upstream check
//! `appArmorProfile`). Both channels are judged, as upstream does:
//! - `securityContext.appArmorProfile.type` of the pod and of every container must be
//!   `RuntimeDefault` or `Localhost`;
//! - the deprecated `container.apparmor.security.beta.kubernetes.io/<container>`
//!   annotations must be empty, `runtime/default` or `localhost/<profile>`.

use gate_policy_sdk::prelude::*;
use gate_policy_sdk::{SecurityContext, container_exempt};

/// The prefix of the deprecated per-container AppArmor annotations.
const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

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

struct AppArmor {
    settings: Settings,
}

fn allowed_type(profile_type: Option<&str>) -> bool {
    matches!(profile_type, Some("RuntimeDefault" | "Localhost"))
}

fn allowed_annotation(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.is_empty() || v == "runtime/default" || v.starts_with("localhost/"))
}

/// A value for a message: quoted when it is a string.
fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "no type".to_owned(), |v| format!("{v:?}"))
}

impl AppArmor {
    fn exempt(&self, c: &Container<'_>) -> bool {
        container_exempt(
            c,
            &self.settings.exempt_images,
            &self.settings.excluded_containers,
        )
    }

    /// A violation if this security context sets a forbidden `appArmorProfile` type.
    fn field(context: &SecurityContext<'_>) -> Option<Violation> {
        let profile = context.get("appArmorProfile");
        let profile_type = profile.str("type");
        (!profile.is_null() && !allowed_type(profile_type)).then(|| {
            Violation::new(
                context.path.keys(&["appArmorProfile", "type"]),
                format!(
                    "forbidden AppArmor profile: {} must not set securityContext.appArmorProfile.type to {}",
                    context.owner,
                    shown(profile_type)
                ),
            )
        })
    }

    fn annotations(&self, pod: &PodSpec<'_>) -> Vec<Violation> {
        let base = pod.metadata_path.key("annotations");
        pod.metadata
            .get("annotations")
            .entries()
            .filter_map(|(key, value)| {
                let container = key.strip_prefix(ANNOTATION_PREFIX)?;
                let exempt = pod.containers().any(|c| c.name() == container && self.exempt(&c));
                (!exempt && !allowed_annotation(value.as_str())).then(|| {
                    Violation::new(
                        base.key(key),
                        format!(
                            "forbidden AppArmor profile: annotation {key}={} must be \"runtime/default\" or \"localhost/<profile>\"",
                            shown(value.as_str())
                        ),
                    )
                })
            })
            .collect()
    }
}

impl Policy for AppArmor {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("pss-apparmor", "AppArmor must not be disabled")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Pod Security Standards, baseline, AppArmor: denies pods and containers whose \
                 securityContext.appArmorProfile.type is anything but RuntimeDefault or Localhost \
                 (that is, Unconfined), and container.apparmor.security.beta.kubernetes.io \
                 annotations other than runtime/default or localhost/<profile>. Running \
                 unconfined removes the mandatory access control that contains a compromised \
                 process.",
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
        Ok(AppArmor { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        pod.security_contexts(|c| self.exempt(c))
            .iter()
            .filter_map(Self::field)
            .chain(self.annotations(&pod))
            .collect()
    }
}

export_policy!(AppArmor);
