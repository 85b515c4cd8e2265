//! pss-apparmor: pods and containers must not disable AppArmor.
//!
//! The "AppArmor" control of the baseline Pod Security Standard (upstream check
//! `appArmorProfile`). Both channels are judged, as upstream does:
//! - `securityContext.appArmorProfile.type` of the pod and of every container must be
//!   `RuntimeDefault` or `Localhost`;
//! - the deprecated `container.apparmor.security.beta.kubernetes.io/<container>`
//!   annotations must be empty, `runtime/default` or `localhost/<profile>`.
//!
//! With `allowedProfiles` (Gatekeeper's `K8sPSPAppArmor`), each container's effective
//! profile must be on that list instead: its own `appArmorProfile`, else its annotation,
//! else the pod's `appArmorProfile`, else `runtime/default`, in the annotation naming
//! (`runtime/default`, `unconfined`, `localhost/<profile>`).

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
    /// Gatekeeper's allow-list of profiles, in the annotation naming (`runtime/default`,
    /// `unconfined`, `localhost/<profile>`), matched exactly against each container's
    /// effective profile. Unset: the standard's rule.
    allowed_profiles: Option<Vec<String>>,
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

    /// The effective profile of each container that is not on `allowed`.
    fn effective(&self, pod: &PodSpec<'_>, allowed: &[String]) -> Vec<Violation> {
        pod.containers()
            .filter(|c| !self.exempt(c))
            .filter_map(|c| {
                let (profile, path, source) = effective_profile(pod, &c);
                if profile.as_ref().is_some_and(|p| allowed.contains(p)) {
                    return None;
                }
                let shown = profile.map_or_else(|| "an unknown profile".to_owned(), |p| format!("{p:?}"));
                Some(Violation::new(
                    path,
                    format!(
                        "AppArmor profile {shown} of container \"{}\" ({source}) is not allowed; allowed profiles: {}",
                        c.name(),
                        allowed.join(", ")
                    ),
                ))
            })
            .collect()
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

/// An `appArmorProfile` in the annotation naming; `None` for an unknown type.
fn canonical(profile: Node<'_>) -> Option<String> {
    match profile.str("type") {
        Some("RuntimeDefault") => Some("runtime/default".to_owned()),
        Some("Unconfined") => Some("unconfined".to_owned()),
        Some("Localhost") => Some(format!(
            "localhost/{}",
            profile.str("localhostProfile").unwrap_or_default()
        )),
        _ => None,
    }
}

/// The profile a container runs with, where it is set, and how to name that place.
fn effective_profile(
    pod: &PodSpec<'_>,
    c: &Container<'_>,
) -> (Option<String>, FieldPath, &'static str) {
    let own = c.security_context().get("appArmorProfile");
    if !own.is_null() {
        let path = c.path.keys(&["securityContext", "appArmorProfile"]);
        return (canonical(own), path, "container securityContext");
    }
    let key = format!("{ANNOTATION_PREFIX}{}", c.name());
    let annotation = pod.metadata.get("annotations").get(&key);
    if !annotation.is_null() {
        let path = pod.metadata_path.key("annotations").key(&key);
        return (annotation.as_str().map(str::to_owned), path, "annotation");
    }
    let pod_profile = pod.security_context().get("appArmorProfile");
    if !pod_profile.is_null() {
        let path = pod.path.keys(&["securityContext", "appArmorProfile"]);
        return (canonical(pod_profile), path, "pod securityContext");
    }
    let path = c.path.keys(&["securityContext", "appArmorProfile"]);
    (
        Some("runtime/default".to_owned()),
        path,
        "the runtime's default",
    )
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
                 process. With allowedProfiles, each container's effective profile must be on \
                 that list instead.",
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
        if let Some(allowed) = &self.settings.allowed_profiles {
            return self.effective(&pod, allowed);
        }
        pod.security_contexts(|c| self.exempt(c))
            .iter()
            .filter_map(Self::field)
            .chain(self.annotations(&pod))
            .collect()
    }
}

export_policy!(AppArmor);
