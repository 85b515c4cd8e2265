//! pss-host-namespaces: pods must not share the host's network, PID or IPC namespace.
//!
//! The "Host Namespaces" control of the baseline Pod Security Standard (upstream check
//! `hostNamespaces`): `spec.hostNetwork`, `spec.hostPID` and `spec.hostIPC` must be
//! unset or false. Applies to the pod spec of every workload kind.

use gate_policy_sdk::prelude::*;

/// Settings, with the parameter name of Azure Policy's host network policy.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allow `hostNetwork: true` (Azure Policy's `allowHostNetwork`). PID and IPC
    /// namespaces are never allowed.
    allow_host_network: bool,
}

struct HostNamespaces {
    settings: Settings,
}

/// The namespace fields, with what sharing each one gives away.
const FIELDS: [(&str, &str); 3] = [
    ("hostNetwork", "the node's network interfaces"),
    ("hostPID", "every process of the node"),
    ("hostIPC", "the node's IPC objects"),
];

impl Policy for HostNamespaces {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("pss-host-namespaces", "Pods must not share host namespaces")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Pod Security Standards, baseline, Host Namespaces: denies pods that set \
                 hostNetwork, hostPID or hostIPC to true. Sharing the node's namespaces lets a \
                 container see and signal the node's processes, read its IPC objects, or sniff \
                 and bind its network interfaces.",
            )
            .severity(Severity::High)
            .category("pod-security")
            .targets(workload_kinds())
            .controls([
                Control::cis(
                    "5.2.3",
                    "Minimize the admission of containers wishing to share the host process ID namespace",
                ),
                Control::cis(
                    "5.2.4",
                    "Minimize the admission of containers wishing to share the host IPC namespace",
                ),
                Control::cis(
                    "5.2.5",
                    "Minimize the admission of containers wishing to share the host network namespace",
                ),
                Control::iso27001("A.8.22", "Segregation of networks"),
            ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(HostNamespaces { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        FIELDS
            .iter()
            .filter(|(field, _)| !(*field == "hostNetwork" && self.settings.allow_host_network))
            .filter_map(|(field, what)| match pod.boolean(&[field]) {
                Ok(Some(true)) => Some(Violation::new(
                    pod.path.key(field),
                    format!("host namespaces: pod must not set {field}=true, which shares {what}"),
                )),
                Ok(_) => None,
                Err(wrong_type) => Some(wrong_type),
            })
            .collect()
    }
}

export_policy!(HostNamespaces);
