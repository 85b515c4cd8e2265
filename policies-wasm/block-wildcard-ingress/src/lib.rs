//! block-wildcard-ingress: every Ingress rule names a host, without wildcards.
//!
//! A rule with no host, an empty host or a `*` host catches traffic for names the
//! Ingress does not own, including other teams' hosts on a shared controller.
//! Gatekeeper's `K8sBlockWildcardIngress`.

use gate_policy_sdk::prelude::*;

/// Settings: none.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {}

struct BlockWildcardIngress;

impl Policy for BlockWildcardIngress {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "block-wildcard-ingress",
            "Ingress rules must name a host without wildcards",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies Ingress rules whose host is missing, empty or contains a wildcard: \
                 such a rule catches traffic for names the Ingress does not own. Gatekeeper \
                 K8sBlockWildcardIngress.",
        )
        .severity(Severity::Medium)
        .category("networking")
        .targets([
            KindSelector::new("networking.k8s.io", "Ingress"),
            KindSelector::new("extensions", "Ingress"),
        ])
        .controls([Control::iso27001("A.8.20", "Networks security")])
    }

    fn new(_settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(BlockWildcardIngress)
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let rules = FieldPath::root().keys(&["spec", "rules"]);
        object
            .path(&["spec", "rules"])
            .items()
            .enumerate()
            .filter_map(|(i, rule)| {
                let message = match rule.str("host") {
                    None => "names no host, so it matches every host".to_owned(),
                    Some("") => "has an empty host, so it matches every host".to_owned(),
                    Some(host) if host.contains('*') => format!("has the wildcard host {host:?}"),
                    Some(_) => return None,
                };
                Some(Violation::new(
                    rules.index(i).key("host"),
                    format!("Ingress {:?}: rule {i} {message}", object.name()),
                ))
            })
            .collect()
    }
}

export_policy!(BlockWildcardIngress);
