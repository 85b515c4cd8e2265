//! ingress-tls-hosts: every host an Ingress serves is listed in one of its TLS entries.
//!
//! A rule host that no `spec.tls[].hosts` entry covers is served over plain HTTP, or
//! with the controller's default certificate, which browsers refuse. Wildcards count as
//! Ingress defines them: `*.example.com` covers exactly one more label. A rule without a
//! host answers every name, which no TLS entry can list, so it is denied unless
//! `allowRulesWithoutHost` is set. Nothing here requires cert-manager: for TLS Secrets
//! issued by cert-manager, see `ingress-tls-cert-manager`, which checks this too.

mod coverage;

use coverage::tls_covers;
use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allow rules without a host (they answer every host name, over plain HTTP unless
    /// the controller's default certificate serves them). Default: false.
    allow_rules_without_host: bool,
}

struct IngressTlsHosts {
    settings: Settings,
}

impl Policy for IngressTlsHosts {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "ingress-tls-hosts",
            "Every Ingress host must be covered by TLS",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies an Ingress rule whose host no spec.tls[].hosts entry covers, so that \
                 no host is served over plain HTTP or with the controller's default \
                 certificate. A wildcard TLS host (*.example.com) covers exactly one more \
                 label, as Ingress defines wildcards; a rule without a host answers every \
                 name and is denied unless allowRulesWithoutHost is set. Does not require \
                 cert-manager.",
        )
        .severity(Severity::High)
        .category("networking")
        .targets([
            KindSelector::new("networking.k8s.io", "Ingress"),
            KindSelector::new("extensions", "Ingress"),
        ])
        .controls([
            Control::iso27001("A.5.14", "Information transfer"),
            Control::iso27001("A.8.24", "Use of cryptography"),
            Control::gdpr(
                "Art. 32(1)(a)",
                "The pseudonymisation and encryption of personal data",
            ),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(IngressTlsHosts { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let spec = object.root.get("spec");
        let base = FieldPath::root().keys(&["spec", "rules"]);
        spec.get("rules")
            .items()
            .enumerate()
            .filter_map(|(i, rule)| {
                let Some(host) = rule.str("host").filter(|h| !h.is_empty()) else {
                    return (!self.settings.allow_rules_without_host).then(|| {
                        Violation::new(
                            base.index(i),
                            "rule has no host: it answers every host name, which no TLS \
                             entry can cover",
                        )
                    });
                };
                (!tls_covers(spec, host)).then(|| {
                    Violation::new(
                        base.index(i).key("host"),
                        format!(
                            "host {host:?} is not covered by any spec.tls[].hosts entry, so \
                             it is served over plain HTTP"
                        ),
                    )
                })
            })
            .collect()
    }
}

export_policy!(IngressTlsHosts);
