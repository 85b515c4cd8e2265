//! allowed-seccomp-profiles: each container's seccomp profile must be an allowed one.
//!
//! PodSecurityPolicy's seccomp rule, with the parameters of the Gatekeeper library's
//! `K8sPSPSeccompV2` (`allowedProfiles` in the securityContext naming, plus
//! `allowedLocalhostFiles`) and `K8sPSPSeccomp` (`allowedProfiles` in the annotation
//! naming, with `profileNaming: Annotation`). Unlike the restricted Pod Security
//! Standard (pss-seccomp-restricted), it judges each container once, at the profile it
//! runs with: its own securityContext, else (annotation naming) its annotation, else the
//! pod's securityContext, else (annotation naming) the pod's annotation, else "not
//! configured", which `allowedProfiles` may list.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of the Gatekeeper library.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allowed profiles, in the naming `profileNaming` selects; `*` allows any and `not
    /// configured` allows containers without a profile. securityContext naming:
    /// `RuntimeDefault`, `Localhost`, `Unconfined`. Annotation naming: `runtime/default`
    /// (same as `docker/default`), `localhost/<file>`, `localhost/*`, `unconfined`.
    /// Default: RuntimeDefault, Localhost.
    allowed_profiles: Vec<String>,
    /// The files a `Localhost` profile may load (securityContext naming); `*` allows
    /// any, a trailing `*` any suffix. Default: `*`.
    allowed_localhost_files: Vec<String>,
    /// How profiles are named in `allowedProfiles` and in messages; the annotation
    /// naming also reads the seccomp annotations.
    profile_naming: ProfileNaming,
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed_profiles: vec!["RuntimeDefault".to_owned(), "Localhost".to_owned()],
            allowed_localhost_files: vec!["*".to_owned()],
            profile_naming: ProfileNaming::SecurityContext,
            exempt_images: Vec::new(),
            excluded_containers: Vec::new(),
        }
    }
}

/// The two ways PodSecurityPolicy and Kubernetes name seccomp profiles.
#[derive(Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
enum ProfileNaming {
    /// `seccompProfile.type` values (Gatekeeper's `K8sPSPSeccompV2`).
    SecurityContext,
    /// The values of the `seccomp.security.alpha.kubernetes.io` annotations
    /// (Gatekeeper's `K8sPSPSeccomp`).
    Annotation,
}

/// What a container runs with: the profile's name in the configured naming, its
/// localhost file if any, where it was found and the path to show.
struct Effective {
    name: String,
    localhost_file: Option<String>,
    found_at: String,
    path: FieldPath,
}

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn pattern_matches(pattern: &str, text: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => text.starts_with(prefix),
        None => text == pattern,
    }
}

struct AllowedSeccompProfiles {
    settings: Settings,
}

impl AllowedSeccompProfiles {
    /// A `seccompProfile` object in the configured naming: (name, localhost file).
    fn name_context_profile(&self, profile: Node<'_>) -> (String, Option<String>) {
        let kind = profile.str("type").unwrap_or_default();
        let file = profile.str("localhostProfile").map(str::to_owned);
        if self.settings.profile_naming == ProfileNaming::SecurityContext {
            return (kind.to_owned(), file);
        }
        let name = match kind {
            "RuntimeDefault" => "runtime/default".to_owned(),
            "Unconfined" => "unconfined".to_owned(),
            "Localhost" => format!("localhost/{}", file.as_deref().unwrap_or_default()),
            other => other.to_owned(),
        };
        (name, file)
    }

    fn effective(&self, pod: &PodSpec<'_>, c: &Container<'_>) -> Effective {
        let annotations = pod.metadata.get("annotations");
        let by_annotation = self.settings.profile_naming == ProfileNaming::Annotation;
        let container_key = format!("{CONTAINER_ANNOTATION}{}", c.name());
        let from_context = |profile: Node<'_>, owner: &str, path: FieldPath| {
            let (name, localhost_file) = self.name_context_profile(profile);
            Effective {
                name,
                localhost_file,
                found_at: format!("{owner} securityContext"),
                path: path.keys(&["securityContext", "seccompProfile", "type"]),
            }
        };
        let from_annotation = |key: &str| {
            annotations
                .str(key)
                .filter(|_| by_annotation)
                .map(|value| Effective {
                    name: value.to_owned(),
                    localhost_file: value.strip_prefix("localhost/").map(str::to_owned),
                    found_at: format!("annotation {key}"),
                    path: pod.metadata_path.key("annotations").key(key),
                })
        };
        let own = c.security_context().get("seccompProfile");
        let pod_profile = pod.security_context().get("seccompProfile");
        if !own.is_null() {
            return from_context(own, "container", c.path.clone());
        }
        if let Some(found) = from_annotation(&container_key) {
            return found;
        }
        if !pod_profile.is_null() {
            return from_context(pod_profile, "pod", pod.path.clone());
        }
        from_annotation(POD_ANNOTATION).unwrap_or_else(|| Effective {
            name: "not configured".to_owned(),
            localhost_file: None,
            found_at: "no explicit profile found".to_owned(),
            path: c.path.keys(&["securityContext", "seccompProfile"]),
        })
    }

    fn allows(&self, profile: &Effective) -> bool {
        let allowed = &self.settings.allowed_profiles;
        if allowed.iter().any(|a| a == "*" || *a == profile.name) {
            return match self.settings.profile_naming {
                ProfileNaming::SecurityContext if profile.name == "Localhost" => {
                    let file = profile.localhost_file.as_deref().unwrap_or_default();
                    self.settings
                        .allowed_localhost_files
                        .iter()
                        .any(|p| pattern_matches(p, file))
                }
                _ => true,
            };
        }
        match self.settings.profile_naming {
            ProfileNaming::SecurityContext => false,
            ProfileNaming::Annotation => {
                let runtime_default = ["runtime/default", "docker/default"];
                (runtime_default.contains(&profile.name.as_str())
                    && allowed
                        .iter()
                        .any(|a| runtime_default.contains(&a.as_str())))
                    || (profile.name.starts_with("localhost/")
                        && allowed.iter().any(|a| a == "localhost/*"))
            }
        }
    }
}

impl Policy for AllowedSeccompProfiles {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "allowed-seccomp-profiles",
            "Containers must run with an allowed seccomp profile",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Judges the seccomp profile each init, regular and ephemeral container runs with \
             (its securityContext, else the pod's, and the seccomp annotations with the \
             annotation naming) against allowedProfiles; a container without any profile is \
             \"not configured\". A seccomp filter shrinks the kernel attack surface reachable \
             from the container.",
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
        Ok(AllowedSeccompProfiles { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let settings = &self.settings;
        pod.containers()
            .filter(|c| {
                !container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
            })
            .filter_map(|c| {
                let profile = self.effective(&pod, &c);
                (!self.allows(&profile)).then(|| {
                    Violation::new(
                        profile.path,
                        format!(
                            "Seccomp profile '{}' is not allowed for container '{}'. Found at: {}. \
                             Allowed profiles: {}",
                            profile.name,
                            c.name(),
                            profile.found_at,
                            settings.allowed_profiles.join(", ")
                        ),
                    )
                })
            })
            .collect()
    }
}

export_policy!(AllowedSeccompProfiles);
