//! https-only-ingress: Ingresses serve HTTPS only.
//!
//! An Ingress must declare TLS and set `kubernetes.io/ingress.allow-http: "false"`, so
//! that nothing (credentials, session cookies) travels in clear text. Settings take the
//! parameters of Gatekeeper's `K8sHttpsOnly` (`tlsOptional`: only the annotation is
//! required, for controllers that terminate TLS elsewhere). Azure Policy's "Kubernetes
//! clusters should be accessible only over HTTPS" is the same rule.

use gate_policy_sdk::prelude::*;

/// The annotation that turns plain HTTP off.
const ALLOW_HTTP: &str = "kubernetes.io/ingress.allow-http";

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Do not require `spec.tls`; the annotation is still required.
    tls_optional: bool,
}

struct HttpsOnly {
    settings: Settings,
}

impl Policy for HttpsOnly {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("https-only-ingress", "Ingresses must serve HTTPS only")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Denies Ingresses that do not declare TLS (unless tlsOptional) or do not set \
                 kubernetes.io/ingress.allow-http: \"false\": plain HTTP exposes credentials \
                 and session cookies. Gatekeeper K8sHttpsOnly and Azure Policy's HTTPS-only \
                 definition.",
            )
            .severity(Severity::High)
            .category("networking")
            .targets([
                KindSelector::new("networking.k8s.io", "Ingress"),
                KindSelector::new("extensions", "Ingress"),
            ])
            .controls([
                Control::iso27001("A.8.24", "Use of cryptography"),
                Control::iso27001("A.5.14", "Information transfer"),
                Control::gdpr(
                    "Art. 32(1)(a)",
                    "The pseudonymisation and encryption of personal data",
                ),
            ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(HttpsOnly { settings })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let mut out = Vec::new();
        if !self.settings.tls_optional && object.path(&["spec", "tls"]).is_empty() {
            out.push(Violation::new(
                "spec.tls",
                format!("Ingress {:?} declares no TLS", object.name()),
            ));
        }
        if object.annotations().str(ALLOW_HTTP) != Some("false") {
            out.push(Violation::new(
                FieldPath::root().keys(&["metadata", "annotations", ALLOW_HTTP]),
                format!(
                    "Ingress {:?} must set the annotation {ALLOW_HTTP}: \"false\" to turn plain HTTP off",
                    object.name()
                ),
            ));
        }
        out
    }
}

export_policy!(HttpsOnly);
