//! disallow-interactive-tty: containers do not ask for a terminal or an open stdin.
//!
//! `tty` and `stdin` exist for `kubectl run -it` debugging sessions; in a deployed
//! workload they keep an interactive channel into the container open for whoever can
//! attach. Gatekeeper's `K8sDisallowInteractiveTTY` (`exemptImages`).

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

struct DisallowInteractive {
    settings: Settings,
}

impl Policy for DisallowInteractive {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "disallow-interactive-tty",
            "Containers must not request a TTY or an open stdin",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies init, regular and ephemeral containers that set tty: true or \
             stdin: true: deployed workloads do not need an interactive channel that anyone \
             allowed to attach can use. Gatekeeper K8sDisallowInteractiveTTY.",
        )
        .severity(Severity::Low)
        .category("pod-security")
        .targets(workload_kinds())
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(DisallowInteractive { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        containers(object)
            .filter(|c| {
                !container_exempt(
                    c,
                    &self.settings.exempt_images,
                    &self.settings.excluded_containers,
                )
            })
            .flat_map(|c| {
                let mut set = Vec::new();
                let mut violations = Vec::new();
                for field in ["stdin", "tty"] {
                    match c.boolean(&[field]) {
                        Ok(Some(true)) => set.push(field),
                        Ok(_) => {}
                        Err(wrong_type) => violations.push(wrong_type),
                    }
                }
                if let Some(first) = set.first() {
                    violations.push(Violation::new(
                        c.path.key(first),
                        format!(
                            "{} sets {}; deployed containers must not be interactive",
                            c.describe(),
                            set.iter()
                                .map(|f| format!("{f}: true"))
                                .collect::<Vec<_>>()
                                .join(" and ")
                        ),
                    ));
                }
                violations
            })
            .collect()
    }
}

export_policy!(DisallowInteractive);
