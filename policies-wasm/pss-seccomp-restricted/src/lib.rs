//! pss-seccomp-restricted: every container must run under a seccomp profile.
//!
//! The "Seccomp" control of the restricted Pod Security Standard (upstream check
//! `seccompProfile_restricted`, which replaces `seccompProfile_baseline` at that
//! level): `securityContext.seccompProfile.type` must be `RuntimeDefault` or
//! `Localhost`, set on the pod (containers inherit it) or on every container. A pod
//! or container that sets another type is denied even when the rest is valid.
//! Windows pods (`spec.os.name: windows`) are exempt, as upstream since policy 1.25.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allowed profiles: `RuntimeDefault` (also written `runtime/default` or
    /// `docker/default`), `Localhost` or `localhost/*` (any local profile),
    /// `localhost/<file>` (that one), `Unconfined`. Default: RuntimeDefault, Localhost.
    allowed_profiles: Vec<String>,
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
            exempt_images: Vec::new(),
            excluded_containers: Vec::new(),
        }
    }
}

/// One allowed profile, parsed from the settings.
#[derive(Debug, PartialEq, Eq)]
enum Allowed {
    RuntimeDefault,
    AnyLocalhost,
    Localhost(String),
    Unconfined,
}

impl Allowed {
    fn parse(text: &str) -> Option<Allowed> {
        Some(match text {
            "RuntimeDefault" | "runtime/default" | "docker/default" => Allowed::RuntimeDefault,
            "Localhost" | "localhost/*" => Allowed::AnyLocalhost,
            "Unconfined" | "unconfined" => Allowed::Unconfined,
            _ => Allowed::Localhost(
                text.strip_prefix("localhost/")
                    .filter(|f| !f.is_empty())?
                    .to_owned(),
            ),
        })
    }

    fn admits(&self, profile: Node<'_>) -> bool {
        let local = profile.str("localhostProfile");
        match (self, profile.str("type")) {
            (Allowed::RuntimeDefault, Some("RuntimeDefault")) => true,
            (Allowed::AnyLocalhost, Some("Localhost")) => true,
            (Allowed::Localhost(file), Some("Localhost")) => local == Some(file.as_str()),
            (Allowed::Unconfined, Some("Unconfined")) => true,
            _ => false,
        }
    }
}

struct SeccompRestricted {
    allowed: Vec<Allowed>,
    settings: Settings,
}

impl SeccompRestricted {
    fn admits(&self, profile: Node<'_>) -> bool {
        self.allowed.iter().any(|a| a.admits(profile))
    }

    fn allowed_list(&self) -> String {
        let names: Vec<String> = self
            .settings
            .allowed_profiles
            .iter()
            .map(|p| format!("{p:?}"))
            .collect();
        names.join(" or ")
    }

    /// A violation for a security context that sets a profile this policy does not admit.
    fn explicit(&self, profile: Node<'_>, path: &FieldPath, who: &str) -> Violation {
        let shown = profile
            .str("type")
            .map_or_else(|| "no type".to_owned(), |t| format!("{t:?}"));
        Violation::new(
            path.keys(&["securityContext", "seccompProfile", "type"]),
            format!(
                "seccompProfile: {who} must not set securityContext.seccompProfile.type to {shown} (allowed: {})",
                self.allowed_list()
            ),
        )
    }
}

impl Policy for SeccompRestricted {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "pss-seccomp-restricted",
            "Containers must run with the RuntimeDefault or a Localhost seccomp profile",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Pod Security Standards, restricted, Seccomp: the pod, or else every init, regular \
                 and ephemeral container, must set securityContext.seccompProfile.type to \
                 RuntimeDefault or Localhost, and none may set another type. A seccomp filter \
                 shrinks the kernel attack surface reachable from the container. Windows pods are \
                 exempt.",
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
        let mut allowed = Vec::new();
        let mut errors = Vec::new();
        for (i, text) in settings.allowed_profiles.iter().enumerate() {
            match Allowed::parse(text) {
                Some(profile) => allowed.push(profile),
                None => errors.push(SettingsError::new(
                    format!("allowedProfiles[{i}]"),
                    format!(
                        "unknown profile {text:?}: expected RuntimeDefault, runtime/default, docker/default, \
                         Localhost, localhost/*, localhost/<file> or Unconfined"
                    ),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SeccompRestricted { allowed, settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        if pod.is_windows() {
            return Vec::new();
        }
        let mut violations = Vec::new();
        let pod_profile = pod.security_context().get("seccompProfile");
        let pod_admitted = !pod_profile.is_null() && self.admits(pod_profile);
        if !pod_profile.is_null() && !pod_admitted {
            violations.push(self.explicit(pod_profile, &pod.path, "pod"));
        }
        let settings = &self.settings;
        for c in pod.containers() {
            if container_exempt(&c, &settings.exempt_images, &settings.excluded_containers) {
                continue;
            }
            let profile = c.security_context().get("seccompProfile");
            let who = format!("container \"{}\"", c.name());
            if !profile.is_null() {
                if !self.admits(profile) {
                    violations.push(self.explicit(profile, &c.path, &who));
                }
            } else if !pod_admitted {
                violations.push(Violation::new(
                    c.path.keys(&["securityContext", "seccompProfile", "type"]),
                    format!(
                        "seccompProfile: pod or {who} must set securityContext.seccompProfile.type to {}",
                        self.allowed_list()
                    ),
                ));
            }
        }
        violations
    }
}

export_policy!(SeccompRestricted);
