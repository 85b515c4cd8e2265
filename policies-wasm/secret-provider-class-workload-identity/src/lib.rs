//! secret-provider-class-workload-identity: an Azure SecretProviderClass must reach
//! Key Vault with Workload Identity.
//!
//! The Azure provider of the Secrets Store CSI driver can authenticate as the pod's
//! Workload Identity (`clientID`), as aad-pod-identity (deprecated) or as the node's
//! managed identity, which every pod on the node shares. Only the first gives each
//! workload its own, federated identity. The Key Vault and its tenant must be named.

use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allow `usePodIdentity: "true"` (aad-pod-identity, deprecated).
    allow_pod_identity: bool,
    /// Allow `useVMManagedIdentity: "true"` (the node's identity, shared by its pods).
    allow_vm_managed_identity: bool,
    /// If set, the only tenants (GUIDs) whose Key Vaults may be used.
    allowed_tenant_ids: Vec<String>,
}

struct SecretProviderClassWorkloadIdentity {
    settings: Settings,
}

/// Is this a GUID (`8-4-4-4-12` hexadecimal digits), as Entra ID client and tenant IDs are?
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A provider parameter read as Go's `strconv.ParseBool` would; a YAML boolean counts
/// too. A value of any other type cannot be read, so it counts as set: the mode is
/// judged rather than ignored.
fn is_true(node: Node<'_>) -> bool {
    match node.as_str() {
        Some(text) => matches!(text, "1" | "t" | "T" | "true" | "TRUE" | "True"),
        None => !matches!(FieldPath::root().boolean(node), Ok(None | Some(false))),
    }
}

/// A non-blank string parameter.
fn text<'a>(parameters: Node<'a>, key: &str) -> Option<&'a str> {
    parameters.str(key).map(str::trim).filter(|v| !v.is_empty())
}

impl SecretProviderClassWorkloadIdentity {
    /// Identity modes: a violation for each one in use and not allowed, and whether an
    /// allowed non-Workload-Identity mode is in use (then `clientID` is not needed).
    fn identity_modes(
        &self,
        parameters: Node<'_>,
        base: &FieldPath,
        out: &mut Vec<Violation>,
    ) -> bool {
        let modes = [
            (
                "usePodIdentity",
                self.settings.allow_pod_identity,
                "aad-pod-identity is deprecated",
            ),
            (
                "useVMManagedIdentity",
                self.settings.allow_vm_managed_identity,
                "the node's managed identity is shared by every pod on the node",
            ),
        ];
        let mut other_mode = false;
        for (key, allowed, why) in modes {
            if !is_true(parameters.get(key)) {
                continue;
            }
            if allowed {
                other_mode = true;
            } else {
                out.push(Violation::new(
                    base.key(key),
                    format!("{key} is true: {why}; set it to \"false\" and use Workload Identity (clientID)"),
                ));
            }
        }
        other_mode
    }

    fn tenant(&self, parameters: Node<'_>, base: &FieldPath, out: &mut Vec<Violation>) {
        let path = base.key("tenantId");
        let Some(tenant) = text(parameters, "tenantId") else {
            let hint = if parameters.get("tenantID").is_null() {
                ""
            } else {
                " (found tenantID; the Azure provider reads tenantId)"
            };
            out.push(Violation::new(
                path,
                format!("tenantId, the Key Vault's Entra ID tenant, is not set{hint}"),
            ));
            return;
        };
        if !is_guid(tenant) {
            out.push(Violation::new(path, "tenantId is not a GUID"));
        } else if !self.settings.allowed_tenant_ids.is_empty()
            && !self
                .settings
                .allowed_tenant_ids
                .iter()
                .any(|t| t.eq_ignore_ascii_case(tenant))
        {
            out.push(Violation::new(
                path,
                format!("tenant {tenant} is not an allowed tenant"),
            ));
        }
    }
}

/// `clientID`: set, and a GUID.
fn client_id(parameters: Node<'_>, base: &FieldPath, out: &mut Vec<Violation>) {
    let path = base.key("clientID");
    match text(parameters, "clientID") {
        None => out.push(Violation::new(
            path,
            "clientID is not set: name the client ID of the workload's managed identity (the \
             azure.workload.identity/client-id of its ServiceAccount)",
        )),
        // Not quoted: a value that is not a GUID may be a client secret pasted by mistake.
        Some(id) if !is_guid(id) => out.push(Violation::new(path, "clientID is not a GUID")),
        Some(_) => {}
    }
}

impl Policy for SecretProviderClassWorkloadIdentity {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "secret-provider-class-workload-identity",
            "Azure SecretProviderClasses must use Workload Identity",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "For a SecretProviderClass (secrets-store.csi.x-k8s.io) with provider azure: \
             clientID must be set to a GUID (Workload Identity), usePodIdentity and \
             useVMManagedIdentity must not be true unless allowed, and keyvaultName and \
             tenantId must be set (tenantId a GUID, optionally from an allow-list). \
             aad-pod-identity is deprecated, and the node's managed identity lets every pod \
             on the node read the vault.",
        )
        .severity(Severity::High)
        .category("secrets")
        .targets([KindSelector::new(
            "secrets-store.csi.x-k8s.io",
            "SecretProviderClass",
        )])
        .controls([
            Control::cis("5.4.2", "Consider external secret storage"),
            Control::iso27001("A.5.15", "Access control"),
            Control::iso27001("A.8.5", "Secure authentication"),
        Control::gdpr("Art. 32(1)(b)", "The ability to ensure the ongoing confidentiality, integrity, availability and resilience of processing systems and services"), ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let errors: Vec<SettingsError> = settings
            .allowed_tenant_ids
            .iter()
            .enumerate()
            .filter(|(_, t)| !is_guid(t))
            .map(|(i, _)| SettingsError::new(format!("allowedTenantIds[{i}]"), "must be a GUID"))
            .collect();
        if errors.is_empty() {
            Ok(SecretProviderClassWorkloadIdentity { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        if object.path(&["spec", "provider"]).as_str() != Some("azure") {
            return Vec::new();
        }
        let parameters = object.path(&["spec", "parameters"]);
        let base = FieldPath::root().keys(&["spec", "parameters"]);
        let mut violations = Vec::new();
        if !self.identity_modes(parameters, &base, &mut violations) {
            client_id(parameters, &base, &mut violations);
        }
        if text(parameters, "keyvaultName").is_none() {
            violations.push(Violation::new(
                base.key("keyvaultName"),
                "keyvaultName is not set",
            ));
        }
        self.tenant(parameters, &base, &mut violations);
        violations
    }
}

export_policy!(SecretProviderClassWorkloadIdentity);
