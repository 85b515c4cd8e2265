//! pss-volume-types: pods may use only the volume types of the restricted standard.
//!
//! The "Volume Types" control of the restricted Pod Security Standard (upstream check
//! `restrictedVolumes`, which replaces `hostPathVolumes` at that level): every volume
//! must be a configMap, csi, downwardAPI, emptyDir, ephemeral, image,
//! persistentVolumeClaim, projected or secret volume. A volume that names no source
//! at all is allowed: the API server defaults it to emptyDir.

use gate_policy_sdk::prelude::*;

/// The volume sources the restricted standard allows. `image` has been allowed since
/// Kubernetes 1.33 (patched into every policy version upstream).
const RESTRICTED_ALLOWED: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allowed volume source fields (Azure Policy's `allowedVolumeTypes`, the
    /// Gatekeeper library's `volumes`); `*` allows any. Default: the restricted list.
    #[serde(alias = "volumes")]
    allowed_volume_types: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed_volume_types: RESTRICTED_ALLOWED.map(str::to_owned).to_vec(),
        }
    }
}

struct VolumeTypes {
    settings: Settings,
}

impl VolumeTypes {
    fn allows(&self, source: &str) -> bool {
        self.settings
            .allowed_volume_types
            .iter()
            .any(|allowed| allowed == "*" || allowed == source)
    }
}

impl Policy for VolumeTypes {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("pss-volume-types", "Pods may use only core volume types")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Pod Security Standards, restricted, Volume Types: denies pods with a volume other \
                 than configMap, csi, downwardAPI, emptyDir, ephemeral, image, \
                 persistentVolumeClaim, projected or secret. Other types (hostPath, nfs, iscsi, \
                 flexVolume, ...) reach storage on the node or the network directly, outside the \
                 PersistentVolume abstraction and its access controls.",
            )
            .severity(Severity::Medium)
            .category("pod-security")
            .targets(workload_kinds())
            .controls([
                Control::cis("5.2.12", "Minimize the admission of HostPath volumes"),
                Control::iso27001("A.8.3", "Information access restriction"),
            ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(VolumeTypes { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        pod.volumes()
            .flat_map(|volume| {
                let name = volume.node.str("name").unwrap_or_default();
                volume
                    .node
                    .entries()
                    .filter(|(source, value)| *source != "name" && !value.is_null() && !self.allows(source))
                    .map(|(source, _)| {
                        Violation::new(
                            volume.path.key(source),
                            format!("restricted volume types: volume \"{name}\" must not use volume type \"{source}\""),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

export_policy!(VolumeTypes);
