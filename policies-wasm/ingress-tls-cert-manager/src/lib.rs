//! ingress-tls-cert-manager: every Ingress host is served over TLS with a certificate
//! that cert-manager issues and renews.
//!
//! A rule host that no `spec.tls` entry lists is served over plain HTTP; a TLS Secret
//! that nothing renews expires in production. A TLS Secret counts as issued when the
//! Ingress carries a cert-manager issuer annotation (ingress-shim then creates the
//! Certificate), or when the render holds a cert-manager Certificate that writes it.

// Which hosts a TLS name covers: the rule of ingress-tls-hosts.
#[path = "../../ingress-tls-hosts/src/coverage.rs"]
mod coverage;

use coverage::{covers, tls_covers};
use gate_policy_sdk::prelude::*;

/// ingress-shim's annotations: either makes it issue every TLS entry of the Ingress.
const ISSUER_ANNOTATIONS: [&str; 2] = ["cert-manager.io/cluster-issuer", "cert-manager.io/issuer"];

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// TLS Secret names that need not come from cert-manager, e.g. certificates synced
    /// from Azure Key Vault by the Secrets Store CSI driver.
    exempt_secret_names: Vec<String>,
    /// Allow wildcard hosts (`*.example.com`) in rules and TLS entries.
    allow_wildcard_hosts: bool,
}

struct IngressTlsCertManager {
    settings: Settings,
}

/// The names a cert-manager Certificate asks for.
fn certificate_names<'a>(certificate: &Object<'a>) -> impl Iterator<Item = &'a str> {
    let spec = certificate.root.get("spec");
    spec.get("dnsNames")
        .items()
        .filter_map(|n| n.as_str())
        .chain(spec.str("commonName"))
}

impl IngressTlsCertManager {
    fn wildcard(&self, host: &str, path: FieldPath, out: &mut Vec<Violation>) {
        if host.starts_with('*') && !self.settings.allow_wildcard_hosts {
            out.push(Violation::new(
                path,
                format!("wildcard host {host:?} is not allowed: name each host"),
            ));
        }
    }

    /// Every rule needs a host, and a TLS entry that covers it. A default backend
    /// answers every host, as a wildcard does.
    fn rules(&self, spec: Node<'_>, out: &mut Vec<Violation>) {
        for field in ["defaultBackend", "backend"] {
            if !spec.get(field).is_null() && !self.settings.allow_wildcard_hosts {
                out.push(Violation::new(
                    FieldPath::root().keys(&["spec", field]),
                    format!("{field} answers every host name, as a wildcard host does"),
                ));
            }
        }
        let base = FieldPath::root().keys(&["spec", "rules"]);
        for (i, rule) in spec.get("rules").items().enumerate() {
            let Some(host) = rule.str("host").filter(|h| !h.is_empty()) else {
                out.push(Violation::new(
                    base.index(i),
                    "rule has no host: it answers every host name, which no TLS entry can cover",
                ));
                continue;
            };
            let path = base.index(i).key("host");
            self.wildcard(host, path.clone(), out);
            if !tls_covers(spec, host) {
                out.push(Violation::new(
                    path,
                    format!("host {host:?} is not listed in any spec.tls entry, so it is served over plain HTTP"),
                ));
            }
        }
    }

    /// Every TLS entry names a Secret that cert-manager issues (or an exempt one).
    fn tls_entries(&self, object: &Object<'_>, render: &Render<'_>, out: &mut Vec<Violation>) {
        let annotated = ISSUER_ANNOTATIONS.iter().any(|a| {
            object
                .annotations()
                .str(a)
                .is_some_and(|v| !v.trim().is_empty())
        });
        let base = FieldPath::root().keys(&["spec", "tls"]);
        for (j, tls) in object.path(&["spec", "tls"]).items().enumerate() {
            let hosts = base.index(j).key("hosts");
            for (k, host) in tls.get("hosts").items().enumerate() {
                self.wildcard(host.as_str().unwrap_or_default(), hosts.index(k), out);
            }
            let path = base.index(j).key("secretName");
            let Some(secret) = tls.str("secretName").filter(|s| !s.is_empty()) else {
                out.push(Violation::new(
                    path,
                    "TLS entry has no secretName: the controller's default certificate would be served",
                ));
                continue;
            };
            if annotated
                || self
                    .settings
                    .exempt_secret_names
                    .iter()
                    .any(|s| s == secret)
            {
                continue;
            }
            let certificate = render.of_kind("Certificate").find(|c| {
                c.group() == "cert-manager.io"
                    && c.namespace() == object.namespace()
                    && c.path(&["spec", "secretName"]).as_str() == Some(secret)
            });
            let Some(certificate) = certificate else {
                out.push(Violation::new(
                    path,
                    format!(
                        "TLS Secret {secret:?} is not issued by cert-manager: annotate the Ingress \
                         with cert-manager.io/cluster-issuer (or cert-manager.io/issuer), or add a \
                         Certificate with spec.secretName {secret:?} in namespace {:?}",
                        object.namespace()
                    ),
                ));
                continue;
            };
            for (k, host) in tls.get("hosts").items().enumerate() {
                let host = host.as_str().unwrap_or_default();
                if !certificate_names(certificate).any(|name| covers(name, host)) {
                    out.push(Violation::new(
                        hosts.index(k),
                        format!(
                            "Certificate {:?} (secret {secret:?}) does not list host {host:?} in its dnsNames",
                            certificate.name()
                        ),
                    ));
                }
            }
        }
    }
}

impl Policy for IngressTlsCertManager {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "ingress-tls-cert-manager",
            "Ingress hosts must use TLS certificates issued by cert-manager",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Every Ingress rule has a host, and a spec.tls entry covers it; every TLS entry \
             names a Secret that cert-manager issues: the Ingress carries \
             cert-manager.io/cluster-issuer or cert-manager.io/issuer, or a cert-manager \
             Certificate in the render, in the same namespace, writes that Secret and lists the \
             hosts. exemptSecretNames lists Secrets managed otherwise. Wildcard hosts are denied \
             unless allowWildcardHosts is set.",
        )
        .severity(Severity::High)
        .category("networking")
        .targets([
            KindSelector::new("networking.k8s.io", "Ingress"),
            KindSelector::new("extensions", "Ingress"),
        ])
        .inventory([KindSelector::new("cert-manager.io", "Certificate")])
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
        let errors: Vec<SettingsError> = settings
            .exempt_secret_names
            .iter()
            .enumerate()
            .filter(|(_, s)| s.trim().is_empty())
            .map(|(i, _)| {
                SettingsError::new(format!("exemptSecretNames[{i}]"), "must not be empty")
            })
            .collect();
        if errors.is_empty() {
            Ok(IngressTlsCertManager { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let mut violations = Vec::new();
        self.rules(object.root.get("spec"), &mut violations);
        self.tls_entries(object, render, &mut violations);
        violations
    }
}

export_policy!(IngressTlsCertManager);
