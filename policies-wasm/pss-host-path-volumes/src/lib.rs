//! pss-host-path-volumes: pods must not mount directories of the node.
//!
//! The "HostPath Volumes" control of the baseline Pod Security Standard (upstream
//! check `hostPathVolumes`): no volume may be a `hostPath`. Azure Policy's
//! `allowedHostPaths` can let chosen path prefixes through, optionally read-only.

use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Host paths that volumes may use. Empty (the default) allows none.
    allowed_host_paths: Vec<AllowedHostPath>,
}

/// One allowed host path.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AllowedHostPath {
    /// A path prefix, matched on whole path segments: `/var/log` allows
    /// `/var/log/app` but not `/var/logs`.
    path_prefix: String,
    /// When true, every container must mount the volume with `readOnly: true`.
    #[serde(default)]
    read_only: bool,
}

struct HostPathVolumes {
    settings: Settings,
}

/// Does `path` lie under `prefix`, segment by segment?
fn under(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || prefix.is_empty(),
        None => false,
    }
}

impl HostPathVolumes {
    /// The allowed entry that covers `path`, preferring one that allows writes.
    fn allowance(&self, path: &str) -> Option<&AllowedHostPath> {
        let mut covering = self
            .settings
            .allowed_host_paths
            .iter()
            .filter(|allowed| under(&allowed.path_prefix, path));
        let first = covering.next()?;
        Some(if first.read_only {
            covering.find(|a| !a.read_only).unwrap_or(first)
        } else {
            first
        })
    }

    /// Mounts of volume `name` that are not read-only.
    fn writable_mounts(pod: &PodSpec<'_>, name: &str) -> Vec<Violation> {
        pod.containers()
            .flat_map(|c| {
                let base = c.path.key("volumeMounts");
                c.get("volumeMounts")
                    .items()
                    .enumerate()
                    .filter(|(_, m)| m.str("name") == Some(name))
                    .filter_map(|(i, m)| {
                        let path = base.index(i).key("readOnly");
                        match path.boolean(m.get("readOnly")) {
                            Ok(Some(true)) => None,
                            Ok(_) => Some(Violation::new(
                                path,
                                format!(
                                    "hostPath volumes: container \"{}\" must mount hostPath volume \"{name}\" with readOnly: true",
                                    c.name()
                                ),
                            )),
                            Err(wrong_type) => Some(wrong_type),
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Policy for HostPathVolumes {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "pss-host-path-volumes",
            "Pods must not use hostPath volumes",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Pod Security Standards, baseline, HostPath Volumes: denies pods with a hostPath \
                 volume. A hostPath mount exposes the node's file system (container runtime \
                 socket, kubelet credentials, /etc) to the container. allowedHostPaths can allow \
                 chosen prefixes, read-only if required.",
        )
        .severity(Severity::High)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([
            Control::cis("5.2.12", "Minimize the admission of HostPath volumes"),
            Control::iso27001("A.8.3", "Information access restriction"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let errors: Vec<SettingsError> = settings
            .allowed_host_paths
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.path_prefix.starts_with('/'))
            .map(|(i, _)| {
                SettingsError::new(
                    format!("allowedHostPaths[{i}].pathPrefix"),
                    "must be an absolute path",
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(HostPathVolumes { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let mut violations = Vec::new();
        for volume in pod.volumes() {
            let host_path = volume.node.get("hostPath");
            if host_path.is_null() {
                continue;
            }
            let name = volume.node.str("name").unwrap_or_default();
            let path = host_path.str("path").unwrap_or_default();
            match self.allowance(path) {
                None => violations.push(Violation::new(
                    volume.path.key("hostPath"),
                    format!(
                        "hostPath volumes: volume \"{name}\" must not mount host path {path:?}"
                    ),
                )),
                Some(allowed) if allowed.read_only => {
                    violations.extend(Self::writable_mounts(&pod, name));
                }
                Some(_) => {}
            }
        }
        violations
    }
}

export_policy!(HostPathVolumes);
