//! allowed-external-ips: Services claim only approved external IPs.
//!
//! `spec.externalIPs` makes every node accept traffic for that address and hand it to
//! the Service; any IP works, including one that belongs to someone else
//! (CVE-2020-8554: intercepting a cluster's traffic to an outside address). Settings
//! take the parameters of Gatekeeper's `K8sExternalIPs`: `allowedIPs`; with none, no
//! external IP is allowed.

use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// The external IPs a Service may claim.
    #[serde(rename = "allowedIPs")]
    allowed_ips: Vec<String>,
}

struct AllowedExternalIps {
    settings: Settings,
}

impl Policy for AllowedExternalIps {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "allowed-external-ips",
            "Services may claim only approved external IPs",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies Services whose spec.externalIPs lists an address not in allowedIPs. \
                 Nodes accept traffic for any external IP a Service claims, which lets a \
                 workload intercept traffic meant for an outside address (CVE-2020-8554). \
                 Gatekeeper K8sExternalIPs, with its parameter names.",
        )
        .severity(Severity::High)
        .category("networking")
        .targets([KindSelector::new("", "Service")])
        .controls([Control::iso27001("A.8.20", "Networks security")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(AllowedExternalIps { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let base = FieldPath::root().keys(&["spec", "externalIPs"]);
        object
            .path(&["spec", "externalIPs"])
            .items()
            .enumerate()
            .filter_map(|(i, ip)| {
                let ip = ip.as_str().unwrap_or_default();
                if self.settings.allowed_ips.iter().any(|a| a == ip) {
                    return None;
                }
                Some(Violation::new(
                    base.index(i),
                    format!(
                        "Service {:?} claims the external IP {ip:?}, which is not allowed (allowed: [{}])",
                        object.name(),
                        self.settings.allowed_ips.join(", ")
                    ),
                ))
            })
            .collect()
    }
}

export_policy!(AllowedExternalIps);
