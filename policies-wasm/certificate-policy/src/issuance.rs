//! What cert-manager will issue, read from a Certificate or from the ingress-shim
//! annotations of an Ingress or a Gateway, with the field path of every value.

use gate_policy_sdk::prelude::*;

/// A value and where it is (or would be) in the object.
pub struct Field<'a> {
    /// The value; null when unset.
    pub node: Node<'a>,
    /// Its path, for the violation.
    pub path: FieldPath,
}

/// The issuer reference.
pub struct IssuerRef<'a> {
    /// `name`.
    pub name: &'a str,
    /// `kind`, defaulted as cert-manager does.
    pub kind: &'a str,
    /// `group`, defaulted to `cert-manager.io`.
    pub group: &'a str,
    /// Where the reference is.
    pub path: FieldPath,
}

/// The fields of a certificate request that the policy judges.
pub struct Issuance<'a> {
    /// The issuer.
    pub issuer: IssuerRef<'a>,
    /// Private key algorithm (`RSA`, `ECDSA`, `Ed25519`).
    pub algorithm: Field<'a>,
    /// Private key size in bits.
    pub size: Field<'a>,
    /// Validity.
    pub duration: Field<'a>,
    /// How long before expiry to renew.
    pub renew_before: Field<'a>,
    /// Renewal as a percentage of the duration; Certificates only.
    pub renew_before_percentage: Option<Field<'a>>,
}

/// A non-blank string.
fn text(node: Node<'_>) -> Option<&str> {
    node.as_str().map(str::trim).filter(|v| !v.is_empty())
}

const GROUP: &str = "cert-manager.io";

impl<'a> Issuance<'a> {
    /// Reads a cert-manager Certificate.
    pub fn of_certificate(object: &Object<'a>) -> Issuance<'a> {
        let spec = object.root.get("spec");
        let at = |keys: &[&str]| Field {
            node: spec.path(keys),
            path: FieldPath::root().key("spec").keys(keys),
        };
        let issuer = spec.get("issuerRef");
        Issuance {
            issuer: IssuerRef {
                name: issuer.str("name").unwrap_or_default(),
                kind: text(issuer.get("kind")).unwrap_or("Issuer"),
                group: text(issuer.get("group")).unwrap_or(GROUP),
                path: FieldPath::root().keys(&["spec", "issuerRef"]),
            },
            algorithm: at(&["privateKey", "algorithm"]),
            size: at(&["privateKey", "size"]),
            duration: at(&["duration"]),
            renew_before: at(&["renewBefore"]),
            renew_before_percentage: Some(at(&["renewBeforePercentage"])),
        }
    }

    /// Reads the annotations that make ingress-shim (or gateway-shim) create a
    /// Certificate; `None` when the object carries no issuer annotation.
    pub fn of_annotations(object: &Object<'a>) -> Option<Issuance<'a>> {
        let annotations = object.annotations();
        let base = FieldPath::root().keys(&["metadata", "annotations"]);
        let annotation = |name: &str| Field {
            node: annotations.get(name),
            path: base.key(name),
        };
        let (key, name, kind) = match text(annotations.get("cert-manager.io/cluster-issuer")) {
            Some(name) => ("cert-manager.io/cluster-issuer", name, "ClusterIssuer"),
            None => {
                let name = text(annotations.get("cert-manager.io/issuer"))?;
                let kind = text(annotations.get("cert-manager.io/issuer-kind")).unwrap_or("Issuer");
                ("cert-manager.io/issuer", name, kind)
            }
        };
        Some(Issuance {
            issuer: IssuerRef {
                name,
                kind,
                group: text(annotations.get("cert-manager.io/issuer-group")).unwrap_or(GROUP),
                path: base.key(key),
            },
            algorithm: annotation("cert-manager.io/private-key-algorithm"),
            size: annotation("cert-manager.io/private-key-size"),
            duration: annotation("cert-manager.io/duration"),
            renew_before: annotation("cert-manager.io/renew-before"),
            renew_before_percentage: None,
        })
    }
}
