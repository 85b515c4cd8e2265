//! block-load-balancer-services: no Service of type LoadBalancer, or only internal ones.
//!
//! A LoadBalancer Service gets a cloud load balancer, by default with a public IP:
//! the workload is on the internet, bypassing the ingress layer and its TLS and WAF.
//! With no settings this is Gatekeeper's `K8sBlockLoadBalancer`. With
//! `allowInternal: true` it is Azure Policy's "Kubernetes clusters should use internal
//! load balancers": a LoadBalancer Service passes when it carries
//! `service.beta.kubernetes.io/azure-load-balancer-internal: "true"`.

use gate_policy_sdk::prelude::*;

/// The annotation that makes AKS create an internal load balancer.
const AZURE_INTERNAL: &str = "service.beta.kubernetes.io/azure-load-balancer-internal";

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allow LoadBalancer Services annotated
    /// `service.beta.kubernetes.io/azure-load-balancer-internal: "true"`.
    allow_internal: bool,
}

struct BlockLoadBalancer {
    settings: Settings,
}

impl Policy for BlockLoadBalancer {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "block-load-balancer-services",
            "Services must not be public load balancers",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies Services of type LoadBalancer, which get a cloud load balancer with a \
             public IP by default and bypass the ingress layer. With allowInternal, Azure \
             internal load balancers (annotation \
             service.beta.kubernetes.io/azure-load-balancer-internal: \"true\") pass. \
             Gatekeeper K8sBlockLoadBalancer and Azure Policy's internal load balancer \
             definition.",
        )
        .severity(Severity::High)
        .category("networking")
        .targets([KindSelector::new("", "Service")])
        .controls([
            Control::iso27001("A.8.20", "Networks security"),
            Control::iso27001("A.8.22", "Segregation of networks"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(BlockLoadBalancer { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if object.path(&["spec", "type"]).as_str() != Some("LoadBalancer") {
            return Vec::new();
        }
        let internal = object.annotations().str(AZURE_INTERNAL) == Some("true");
        if self.settings.allow_internal && internal {
            return Vec::new();
        }
        let message = if self.settings.allow_internal {
            format!(
                "Service {:?} is a public load balancer; annotate it {AZURE_INTERNAL}: \"true\" \
                 or expose it through an ingress",
                object.name()
            )
        } else {
            format!(
                "Service {:?} is of type LoadBalancer; expose it through an ingress instead",
                object.name()
            )
        };
        vec![Violation::new("spec.type", message)]
    }
}

export_policy!(BlockLoadBalancer);
