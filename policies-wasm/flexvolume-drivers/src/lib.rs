//! flexvolume-drivers: flexVolume volumes may use only the allowed drivers.
//!
//! A flexVolume driver is a binary on the node that the kubelet runs as root to mount
//! the volume; a pod that names any driver picks which host program runs on its
//! behalf. Gatekeeper library `K8sPSPFlexVolumes` (PodSecurityPolicy's
//! `allowedFlexVolumes`): every `volumes[*].flexVolume.driver` must be listed.

use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The drivers flexVolume volumes may use. Empty (the default): no flexVolume
    /// volume is allowed.
    allowed_flex_volumes: Vec<AllowedFlexVolume>,
}

/// One allowed driver, as PodSecurityPolicy's `allowedFlexVolumes` lists it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AllowedFlexVolume {
    /// The driver name, e.g. `example/lvm`.
    driver: String,
}

struct FlexVolumeDrivers {
    settings: Settings,
}

impl FlexVolumeDrivers {
    fn allows(&self, driver: &str) -> bool {
        self.settings
            .allowed_flex_volumes
            .iter()
            .any(|allowed| allowed.driver == driver)
    }
}

impl Policy for FlexVolumeDrivers {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "flexvolume-drivers",
            "flexVolume volumes must use an allowed driver",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies flexVolume volumes whose driver is not in allowedFlexVolumes. A flexVolume \
             driver is a program on the node that the kubelet runs as root; by default no \
             flexVolume volume is allowed.",
        )
        .severity(Severity::Medium)
        .category("pod-security")
        .targets(workload_kinds())
        .controls([Control::iso27001(
            "A.8.19",
            "Installation of software on operational systems",
        )])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(FlexVolumeDrivers { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        pod.volumes()
            .filter(|volume| volume.node.get("flexVolume").is_object())
            .filter_map(|volume| {
                let driver = volume.node.get("flexVolume").str("driver").unwrap_or("");
                (!self.allows(driver)).then(|| {
                    Violation::new(
                        volume.path.keys(&["flexVolume", "driver"]),
                        format!(
                            "FlexVolume driver {driver:?} of volume {:?} is not allowed",
                            volume.node.str("name").unwrap_or_default()
                        ),
                    )
                })
            })
            .collect()
    }
}

export_policy!(FlexVolumeDrivers);
