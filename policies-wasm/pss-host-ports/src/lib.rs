//! pss-host-ports: containers must not bind ports of the node.
//!
//! The "Host Ports" control of the baseline Pod Security Standard (upstream check
//! `hostPorts`): every `ports[*].hostPort` must be unset or 0. Azure Policy's
//! `minPort`/`maxPort` (the Gatekeeper library's `min`/`max`) can allow a range instead.
//! The Gatekeeper library's `K8sPSPHostNetworkingPorts` also judges `hostNetwork`: with
//! `hostNetwork: false`, a pod on the node's network is denied too.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Lowest allowed host port (Azure Policy's `minPort`, Gatekeeper's `min`). With
    /// neither bound set, no host port is allowed; with one, the other side is open.
    #[serde(alias = "min")]
    min_port: Option<i64>,
    /// Highest allowed host port (Azure Policy's `maxPort`, Gatekeeper's `max`).
    #[serde(alias = "max")]
    max_port: Option<i64>,
    /// Whether pods may set `hostNetwork: true` (Gatekeeper's `hostNetwork`). Unset: not
    /// judged here (the standard leaves it to the Host Namespaces control).
    host_network: Option<bool>,
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

struct HostPorts {
    /// The allowed range of non-zero host ports, if any.
    range: Option<(i64, i64)>,
    settings: Settings,
}

impl HostPorts {
    fn allows(&self, port: i64) -> bool {
        port == 0
            || self
                .range
                .is_some_and(|(min, max)| (min..=max).contains(&port))
    }
}

impl Policy for HostPorts {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("pss-host-ports", "Containers must not use host ports")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Pod Security Standards, baseline, Host Ports: denies init, regular and ephemeral \
                 containers that set a non-zero ports[*].hostPort. A host port binds the node's \
                 interfaces, bypassing network policies and Service load balancing. minPort and \
                 maxPort can allow a range; hostNetwork: false also denies pods on the node's \
                 network.",
            )
            .severity(Severity::Medium)
            .category("pod-security")
            .targets(workload_kinds())
            .controls([
                Control::cis(
                    "5.2.13",
                    "Minimize the admission of containers which use HostPorts",
                ),
                Control::iso27001("A.8.20", "Networks security"),
            ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let range = match (settings.min_port, settings.max_port) {
            (None, None) => None,
            (Some(min), Some(max)) if min <= max => Some((min, max)),
            (Some(_), Some(_)) => {
                return Err(vec![SettingsError::new(
                    "minPort",
                    "must not be greater than maxPort",
                )]);
            }
            (Some(min), None) => Some((min, i64::MAX)),
            (None, Some(max)) => Some((i64::MIN, max)),
        };
        Ok(HostPorts { range, settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let settings = &self.settings;
        // Exempt images do not exempt the pod's network: it is the pod's, not an image's.
        let host_network = match pod.boolean(&["hostNetwork"]) {
            _ if settings.host_network != Some(false) => None,
            Ok(Some(true)) => Some(Violation::new(
                pod.path.key("hostNetwork"),
                "hostNetwork: pod must not use the host's network (hostNetwork is false)",
            )),
            Ok(_) => None,
            Err(wrong_type) => Some(wrong_type),
        };
        let ports = pod
            .containers()
            .filter(|c| {
                !container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
            })
            .flat_map(|c| {
                let base = c.path.key("ports");
                c.get("ports")
                    .items()
                    .enumerate()
                    .filter_map(|(i, port)| {
                        let path = base.index(i).key("hostPort");
                        // A hostPort of another type is judged, never skipped.
                        match path.integer(port.get("hostPort")) {
                            Ok(None) => None,
                            Ok(Some(n)) if self.allows(n) => None,
                            Ok(Some(n)) => Some(Violation::new(
                                path,
                                format!(
                                    "hostPort: container \"{}\" must not use hostPort {n}",
                                    c.name()
                                ),
                            )),
                            Err(wrong_type) => Some(wrong_type),
                        }
                    })
                    .collect::<Vec<_>>()
            });
        host_network.into_iter().chain(ports).collect()
    }
}

export_policy!(HostPorts);
