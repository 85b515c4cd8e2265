//! unique-ingress-host: no two Ingresses claim the same host.
//!
//! On a shared ingress controller, a second Ingress for a host merges its paths into the
//! first: one team can take over another's traffic. The rule looks at every Ingress of
//! the render, in every namespace. Gatekeeper's `K8sUniqueIngressHost`, whose cluster
//! inventory is here the render being checked.

use gate_policy_sdk::prelude::*;

/// Settings: none.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {}

struct UniqueIngressHost;

fn ingress_kinds() -> [KindSelector; 2] {
    [
        KindSelector::new("networking.k8s.io", "Ingress"),
        KindSelector::new("extensions", "Ingress"),
    ]
}

fn hosts<'a>(ingress: &Object<'a>) -> impl Iterator<Item = (usize, &'a str)> + use<'a> {
    ingress
        .path(&["spec", "rules"])
        .items()
        .enumerate()
        .filter_map(|(i, rule)| rule.str("host").filter(|h| !h.is_empty()).map(|h| (i, h)))
}

fn describe(object: &Object<'_>) -> String {
    match object.namespace() {
        "" => format!("{:?}", object.name()),
        ns => format!("{ns}/{}", object.name()),
    }
}

impl Policy for UniqueIngressHost {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("unique-ingress-host", "Ingress hosts must be unique")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Denies an Ingress rule whose host is also claimed by another Ingress of the \
                 render, in any namespace: on a shared controller the second Ingress can take \
                 over the first one's traffic. Gatekeeper K8sUniqueIngressHost.",
            )
            .severity(Severity::High)
            .category("networking")
            .targets(ingress_kinds())
            .inventory(ingress_kinds())
    }

    fn new(_settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(UniqueIngressHost)
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let rules = FieldPath::root().keys(&["spec", "rules"]);
        let mut out = Vec::new();
        for (i, host) in hosts(object) {
            for other in render.others(object, "Ingress") {
                if hosts(other).any(|(_, h)| h == host) {
                    out.push(Violation::new(
                        rules.index(i).key("host"),
                        format!(
                            "Ingress host {host:?} is also claimed by Ingress {}",
                            describe(other)
                        ),
                    ));
                }
            }
        }
        out
    }
}

export_policy!(UniqueIngressHost);
