//! certificate-policy: cert-manager certificates come from approved issuers, with
//! strong keys and a bounded lifetime.
//!
//! Judges cert-manager Certificates, and the issuer annotations of Ingresses and
//! Gateways (from which cert-manager's ingress-shim and gateway-shim create
//! Certificates, so the same rules apply to them). Unset fields are judged at
//! cert-manager's defaults: RSA 2048, a 2160h duration, renewal at a third of it.

mod duration;
mod issuance;

use gate_policy_sdk::prelude::*;
use issuance::{Field, Issuance};

/// cert-manager's default `duration`: 90 days.
const DEFAULT_DURATION: &str = "2160h";

/// An issuer that may sign certificates.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AllowedIssuer {
    /// The issuer's name.
    name: String,
    /// Its kind: `ClusterIssuer`, `Issuer`, or an external issuer's kind. An allowed
    /// `Issuer` name is allowed in every namespace; prefer ClusterIssuers.
    kind: String,
    /// Its API group. Default: `cert-manager.io`.
    #[serde(default = "cert_manager_group")]
    group: String,
}

fn cert_manager_group() -> String {
    "cert-manager.io".to_owned()
}

/// Settings. Durations are Go durations (`2160h`, `720h0m0s`); `null` removes a bound.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// The issuers certificates may come from. Default: none, so every certificate is
    /// denied until the issuers of the organisation are listed.
    allowed_issuers: Vec<AllowedIssuer>,
    /// Allowed private key algorithms, among `RSA`, `ECDSA` and `Ed25519`. Default: all three.
    allowed_key_algorithms: Vec<String>,
    /// The smallest RSA key, in bits. Default: 2048.
    min_rsa_key_size: u32,
    /// The smallest ECDSA key, in bits. Default: 256.
    min_ecdsa_key_size: u32,
    /// The shortest `duration`. Default: `24h`.
    min_duration: Option<String>,
    /// The longest `duration`. Default: `8760h` (one year).
    max_duration: Option<String>,
    /// The shortest `renewBefore`. Default: `1h`.
    min_renew_before: Option<String>,
    /// The longest `renewBefore`. Default: none.
    max_renew_before: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allowed_issuers: Vec::new(),
            allowed_key_algorithms: ALGORITHMS.iter().map(|a| (*a).to_owned()).collect(),
            min_rsa_key_size: 2048,
            min_ecdsa_key_size: 256,
            min_duration: Some("24h".to_owned()),
            max_duration: Some("8760h".to_owned()),
            min_renew_before: Some("1h".to_owned()),
            max_renew_before: None,
        }
    }
}

/// The private key algorithms cert-manager knows, as it spells them.
const ALGORITHMS: [&str; 3] = ["RSA", "ECDSA", "Ed25519"];

/// The canonical spelling of a key algorithm, if cert-manager knows it.
fn algorithm(name: &str) -> Option<&'static str> {
    ALGORITHMS
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(name.trim()))
}

/// A lower and an upper bound, in nanoseconds, with the text they were given as.
#[derive(Default)]
struct Bounds {
    min: Option<(i128, String)>,
    max: Option<(i128, String)>,
}

impl Bounds {
    /// Parses `min` and `max` settings, naming the fields in errors.
    fn parse(
        (min_field, min): (&str, &Option<String>),
        (max_field, max): (&str, &Option<String>),
        errors: &mut Vec<SettingsError>,
    ) -> Bounds {
        let mut read = |field: &str, text: &Option<String>| {
            let text = text.as_ref()?;
            match duration::parse(text) {
                Ok(nanos) if nanos >= 0 => Some((nanos, text.clone())),
                Ok(_) => {
                    errors.push(SettingsError::new(field, "must not be negative"));
                    None
                }
                Err(e) => {
                    errors.push(SettingsError::new(field, e));
                    None
                }
            }
        };
        let bounds = Bounds {
            min: read(min_field, min),
            max: read(max_field, max),
        };
        if let (Some((min, _)), Some((max, _))) = (&bounds.min, &bounds.max)
            && min > max
        {
            errors.push(SettingsError::new(
                min_field,
                format!("must not exceed {max_field}"),
            ));
        }
        bounds
    }

    /// Why `value` is out of bounds, if it is.
    fn check(&self, value: i128) -> Option<String> {
        match (&self.min, &self.max) {
            (Some((min, text)), _) if value < *min => Some(format!("below the minimum {text}")),
            (_, Some((max, text))) if value > *max => Some(format!("above the maximum {text}")),
            _ => None,
        }
    }
}

struct CertificatePolicy {
    settings: Settings,
    algorithms: Vec<&'static str>,
    duration: Bounds,
    renew_before: Bounds,
}

/// An integer given as a number or as a string (annotations are strings); `None` for
/// anything else, which the callers report.
fn integer(node: Node<'_>, path: &FieldPath) -> Option<i64> {
    match node.as_str() {
        Some(text) => text.trim().parse().ok(),
        None => path.integer(node).ok().flatten(),
    }
}

/// A lifetime value: what it is, and how to name it in a message.
struct Lifetime {
    nanos: i128,
    label: String,
}

impl CertificatePolicy {
    fn issuer(&self, issuance: &Issuance<'_>, out: &mut Vec<Violation>) {
        let issuer = &issuance.issuer;
        let allowed = self
            .settings
            .allowed_issuers
            .iter()
            .any(|a| a.name == issuer.name && a.kind == issuer.kind && a.group == issuer.group);
        if allowed {
            return;
        }
        let listed: Vec<String> = self
            .settings
            .allowed_issuers
            .iter()
            .map(|a| format!("{} {}", a.kind, a.name))
            .collect();
        let listed = if listed.is_empty() {
            "none is configured: list them in allowedIssuers".to_owned()
        } else {
            format!("allowed: {}", listed.join(", "))
        };
        let group = if issuer.group == "cert-manager.io" {
            String::new()
        } else {
            format!(" ({})", issuer.group)
        };
        out.push(Violation::new(
            &issuer.path,
            format!(
                "issuer {} {:?}{group} is not an allowed issuer ({listed})",
                issuer.kind, issuer.name
            ),
        ));
    }

    fn private_key(&self, issuance: &Issuance<'_>, out: &mut Vec<Violation>) {
        let Field { node, path } = &issuance.algorithm;
        let name = if node.is_null() {
            Some("RSA")
        } else {
            node.as_str().and_then(algorithm)
        };
        let Some(name) = name else {
            out.push(Violation::new(
                path,
                "private key algorithm is not one of RSA, ECDSA and Ed25519",
            ));
            return;
        };
        if !self.algorithms.contains(&name) {
            out.push(Violation::new(
                path,
                format!(
                    "private key algorithm {name} is not allowed (allowed: {})",
                    self.algorithms.join(", ")
                ),
            ));
        }
        let (minimum, default) = match name {
            "RSA" => (self.settings.min_rsa_key_size, 2048),
            "ECDSA" => (self.settings.min_ecdsa_key_size, 256),
            _ => return,
        };
        let size = &issuance.size;
        let (bits, how) = if size.node.is_null() {
            (
                i64::from(default),
                format!("unset, so cert-manager's default of {default} bits"),
            )
        } else if let Some(bits) = integer(size.node, &size.path) {
            (bits, format!("{bits} bits"))
        } else {
            out.push(Violation::new(
                &size.path,
                "private key size is not a number",
            ));
            return;
        };
        if bits < i64::from(minimum) {
            out.push(Violation::new(
                &size.path,
                format!("{name} private key size is {how}, below the minimum of {minimum} bits"),
            ));
        }
    }

    /// Checks `duration`, and returns it for the renewal checks.
    fn duration(&self, issuance: &Issuance<'_>, out: &mut Vec<Violation>) -> Option<Lifetime> {
        let Field { node, path } = &issuance.duration;
        let lifetime = if node.is_null() {
            Lifetime {
                nanos: duration::parse(DEFAULT_DURATION).ok()?,
                label: format!(
                    "duration is unset, so cert-manager's default of {DEFAULT_DURATION}"
                ),
            }
        } else {
            let text = node.as_str().unwrap_or_default();
            match duration::parse(text) {
                Ok(nanos) => Lifetime {
                    nanos,
                    label: format!("duration {text}"),
                },
                Err(e) => {
                    out.push(
                        Violation::new(path, format!("duration: {e}"))
                            .with_severity(Severity::Medium),
                    );
                    return None;
                }
            }
        };
        if let Some(why) = self.duration.check(lifetime.nanos) {
            out.push(
                Violation::new(path, format!("{} is {why}", lifetime.label))
                    .with_severity(Severity::Medium),
            );
        }
        Some(lifetime)
    }

    /// The renewal window (`renewBeforePercentage`, `renewBefore`, or cert-manager's
    /// default of a third of the duration) and the path to blame.
    fn renew_before(
        &self,
        issuance: &Issuance<'_>,
        total: &Lifetime,
        out: &mut Vec<Violation>,
    ) -> Option<(Lifetime, FieldPath)> {
        if let Some(Field { node, path }) = issuance
            .renew_before_percentage
            .as_ref()
            .filter(|f| !f.node.is_null())
        {
            let Some(percent) = integer(*node, path).filter(|p| (1..100).contains(p)) else {
                out.push(
                    Violation::new(
                        path,
                        "renewBeforePercentage is not a whole number from 1 to 99",
                    )
                    .with_severity(Severity::Medium),
                );
                return None;
            };
            let nanos = total.nanos * i128::from(percent) / 100;
            let label = format!(
                "renewBeforePercentage {percent} ({})",
                duration::format(nanos)
            );
            return Some((Lifetime { nanos, label }, path.clone()));
        }
        let Field { node, path } = &issuance.renew_before;
        if node.is_null() {
            let nanos = total.nanos / 3;
            let label = format!(
                "renewBefore is unset, so cert-manager's default of a third of the duration ({})",
                duration::format(nanos)
            );
            return Some((Lifetime { nanos, label }, path.clone()));
        }
        let text = node.as_str().unwrap_or_default();
        match duration::parse(text) {
            Ok(nanos) => Some((
                Lifetime {
                    nanos,
                    label: format!("renewBefore {text}"),
                },
                path.clone(),
            )),
            Err(e) => {
                out.push(
                    Violation::new(path, format!("renewBefore: {e}"))
                        .with_severity(Severity::Medium),
                );
                None
            }
        }
    }

    fn lifetime(&self, issuance: &Issuance<'_>, out: &mut Vec<Violation>) {
        let Some(total) = self.duration(issuance, out) else {
            return;
        };
        let Some((renew, path)) = self.renew_before(issuance, &total, out) else {
            return;
        };
        let why = if renew.nanos >= total.nanos {
            Some(format!(
                "not shorter than the duration ({}): cert-manager rejects it",
                duration::format(total.nanos)
            ))
        } else {
            self.renew_before.check(renew.nanos)
        };
        if let Some(why) = why {
            out.push(
                Violation::new(path, format!("{} is {why}", renew.label))
                    .with_severity(Severity::Medium),
            );
        }
    }
}

/// Settings errors of the issuer and algorithm lists.
fn list_errors(settings: &Settings, errors: &mut Vec<SettingsError>) {
    for (i, issuer) in settings.allowed_issuers.iter().enumerate() {
        for (field, value) in [
            ("name", &issuer.name),
            ("kind", &issuer.kind),
            ("group", &issuer.group),
        ] {
            if value.trim().is_empty() {
                errors.push(SettingsError::new(
                    format!("allowedIssuers[{i}].{field}"),
                    "must not be empty",
                ));
            }
        }
    }
    for (i, name) in settings.allowed_key_algorithms.iter().enumerate() {
        if algorithm(name).is_none() {
            errors.push(SettingsError::new(
                format!("allowedKeyAlgorithms[{i}]"),
                "must be one of RSA, ECDSA and Ed25519",
            ));
        }
    }
    for (field, bits) in [
        ("minRsaKeySize", settings.min_rsa_key_size),
        ("minEcdsaKeySize", settings.min_ecdsa_key_size),
    ] {
        if bits == 0 {
            errors.push(SettingsError::new(
                field,
                "must be a number of bits above 0",
            ));
        }
    }
}

impl Policy for CertificatePolicy {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "certificate-policy",
            "Certificates must come from allowed issuers with strong keys and bounded lifetimes",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "For cert-manager Certificates, and Ingresses and Gateways with cert-manager \
                 issuer annotations: the issuer (name, kind, group) is in allowedIssuers; the \
                 private key is an allowed algorithm, RSA of at least minRsaKeySize bits \
                 (default 2048) or ECDSA of at least minEcdsaKeySize (default 256); duration and \
                 renewBefore (or renewBeforePercentage) are within the configured bounds, and \
                 renewBefore is shorter than duration. Unset fields are judged at cert-manager's \
                 defaults (RSA 2048, 2160h, a third of the duration).",
        )
        .severity(Severity::High)
        .category("networking")
        .targets([
            KindSelector::new("cert-manager.io", "Certificate"),
            KindSelector::new("networking.k8s.io", "Ingress"),
            KindSelector::new("extensions", "Ingress"),
            KindSelector::new("gateway.networking.k8s.io", "Gateway"),
        ])
        .controls([
            Control::iso27001("A.8.24", "Use of cryptography"),
            Control::gdpr(
                "Art. 32(1)(a)",
                "The pseudonymisation and encryption of personal data",
            ),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let mut errors = Vec::new();
        list_errors(&settings, &mut errors);
        let duration = Bounds::parse(
            ("minDuration", &settings.min_duration),
            ("maxDuration", &settings.max_duration),
            &mut errors,
        );
        let renew_before = Bounds::parse(
            ("minRenewBefore", &settings.min_renew_before),
            ("maxRenewBefore", &settings.max_renew_before),
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CertificatePolicy {
            algorithms: settings
                .allowed_key_algorithms
                .iter()
                .filter_map(|a| algorithm(a))
                .collect(),
            settings,
            duration,
            renew_before,
        })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let issuance = if object.kind() == "Certificate" {
            Issuance::of_certificate(object)
        } else {
            match Issuance::of_annotations(object) {
                Some(issuance) => issuance,
                None => return Vec::new(),
            }
        };
        let mut violations = Vec::new();
        self.issuer(&issuance, &mut violations);
        self.private_key(&issuance, &mut violations);
        self.lifetime(&issuance, &mut violations);
        violations
    }
}

export_policy!(CertificatePolicy);
