//! pss-host-probes-lifecycle: probes and lifecycle hooks must target the pod itself.
//!
//! The "Host Probes / Lifecycle Hooks" control of the baseline Pod Security Standard
//! (upstream check `hostProbesAndHostLifecycle`, policy 1.34+): the `host` field of
//! `httpGet` and `tcpSocket` in liveness, readiness and startup probes and in
//! postStart and preStop handlers must be unset or empty.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// The probe and lifecycle handler fields of a container, as paths from the container.
const HANDLERS: [&[&str]; 5] = [
    &["livenessProbe"],
    &["readinessProbe"],
    &["startupProbe"],
    &["lifecycle", "postStart"],
    &["lifecycle", "preStop"],
];

/// The actions of a handler that can name a host.
const ACTIONS: [&str; 2] = ["httpGet", "tcpSocket"];

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

struct HostProbesLifecycle {
    settings: Settings,
}

/// Every probe or handler `host` the container sets, with its path.
fn hosts(c: &Container<'_>) -> Vec<Violation> {
    let mut violations = Vec::new();
    for handler in HANDLERS {
        for action in ACTIONS {
            let mut keys = handler.to_vec();
            keys.extend([action, "host"]);
            let host = c.node.path(&keys);
            if host.is_null() || host.as_str() == Some("") {
                continue;
            }
            let shown = host.as_str().map_or_else(
                || "a value that is not a string".to_owned(),
                |h| format!("{h:?}"),
            );
            violations.push(Violation::new(
                c.path.keys(&keys),
                format!(
                    "probe or lifecycle host: container \"{}\" must not set {} to {shown}",
                    c.name(),
                    keys.join(".")
                ),
            ));
        }
    }
    violations
}

impl Policy for HostProbesLifecycle {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "pss-host-probes-lifecycle",
            "Probes and lifecycle hooks must not set a host",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Pod Security Standards, baseline, Host Probes / Lifecycle Hooks: denies init, \
                 regular and ephemeral containers whose liveness, readiness or startup probe, or \
                 postStart or preStop handler, sets httpGet.host or tcpSocket.host. The kubelet \
                 makes these requests from the node, so a host field turns it into a proxy to any \
                 address the node can reach.",
        )
        .severity(Severity::Medium)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([Control::iso27001("A.8.20", "Networks security")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(HostProbesLifecycle { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let settings = &self.settings;
        containers(object)
            .filter(|c| {
                !container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
            })
            .flat_map(|c| hosts(&c))
            .collect()
    }
}

export_policy!(HostProbesLifecycle);
