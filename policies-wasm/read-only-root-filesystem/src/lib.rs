//! read-only-root-filesystem: containers must mount their root filesystem read-only.
//!
//! Every init, regular and ephemeral container must set
//! `securityContext.readOnlyRootFilesystem: true`, so that a compromised process cannot
//! write tools or persistence into the image layers. Gatekeeper library
//! `K8sPSPReadOnlyRootFilesystem`, Azure Policy's read-only root filesystem policy.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

struct ReadOnlyRootFilesystem {
    settings: Settings,
}

impl Policy for ReadOnlyRootFilesystem {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "read-only-root-filesystem",
            "Containers must use a read-only root filesystem",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies init, regular and ephemeral containers that do not set \
             securityContext.readOnlyRootFilesystem: true. A writable root filesystem lets a \
             compromised process drop tools or persist changes in the container; data belongs \
             in volumes.",
        )
        .severity(Severity::Medium)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([
            Control::cis("5.7.3", "Apply SecurityContext to your Pods and Containers"),
            Control::iso27001("A.8.9", "Configuration management"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(ReadOnlyRootFilesystem { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let settings = &self.settings;
        containers(object)
            .filter(|c| {
                !container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
            })
            .filter_map(
                |c| match c.boolean(&["securityContext", "readOnlyRootFilesystem"]) {
                    Ok(Some(true)) => None,
                    Ok(_) => Some(Violation::new(
                        c.path.keys(&["securityContext", "readOnlyRootFilesystem"]),
                        format!(
                            "only read-only root filesystem container is allowed: {} ({} must set \
                         securityContext.readOnlyRootFilesystem: true)",
                            c.name(),
                            c.describe()
                        ),
                    )),
                    Err(wrong_type) => Some(wrong_type),
                },
            )
            .collect()
    }
}

export_policy!(ReadOnlyRootFilesystem);
