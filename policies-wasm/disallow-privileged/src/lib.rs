//! disallow-privileged: no container may run privileged.
//!
//! A privileged container has every capability of the host and access to its
//! devices; escaping it is trivial. Applies to init, regular and ephemeral
//! containers of every workload kind.

use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Images that may run privileged. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names that may run privileged.
    excluded_containers: Vec<String>,
}

struct DisallowPrivileged {
    settings: Settings,
}

fn image_matches(pattern: &str, image: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => image.starts_with(prefix),
        None => image == pattern,
    }
}

impl Policy for DisallowPrivileged {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("disallow-privileged", "Containers must not run privileged")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Denies any init, regular or ephemeral container whose securityContext sets \
                 privileged: true. A privileged container shares the host's devices and every \
                 capability, so escaping to the node is trivial.",
            )
            .severity(Severity::High)
            .category("pod-security")
            .targets(workload_kinds())
            .controls([
                Control::cis("5.2.2", "Minimize the admission of privileged containers"),
                Control::iso27001("A.8.2", "Privileged access rights"),
            ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(DisallowPrivileged { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        containers(object)
            .filter(|c| {
                !self
                    .settings
                    .excluded_containers
                    .iter()
                    .any(|n| n == c.name())
            })
            .filter(|c| {
                !self
                    .settings
                    .exempt_images
                    .iter()
                    .any(|p| image_matches(p, c.image()))
            })
            .filter_map(|c| match c.boolean(&["securityContext", "privileged"]) {
                Ok(Some(true)) => Some(Violation::new(
                    c.path.keys(&["securityContext", "privileged"]),
                    format!("container {:?} must not run privileged", c.name()),
                )),
                Ok(_) => None,
                // `privileged: "true"` is not an unset field: deny what cannot be read.
                Err(wrong_type) => Some(wrong_type),
            })
            .collect()
    }
}

export_policy!(DisallowPrivileged);
