//! csi-secrets-workload-identity: a pod that mounts Key Vault secrets through the
//! Secrets Store CSI driver must be wired to its Workload Identity.
//!
//! The pod carries the `azure.workload.identity/use: "true"` label (the webhook then
//! projects the federated token), runs under a ServiceAccount annotated with
//! `azure.workload.identity/client-id`, and each SecretProviderClass it mounts is in
//! the render, in its namespace, with the same `clientID`. Otherwise the mount fails
//! at start-up, or reads the vault as another identity.

use gate_policy_sdk::Volume;
use gate_policy_sdk::prelude::*;

const DRIVER: &str = "secrets-store.csi.k8s.io";
const USE_LABEL: &str = "azure.workload.identity/use";
const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";

/// Settings.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Deny when the pod's ServiceAccount is not in the render, since its client-id
    /// annotation cannot be checked. Set to false when ServiceAccounts are managed
    /// elsewhere (another repository, the platform team). Default: true.
    require_service_account_in_render: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            require_service_account_in_render: true,
        }
    }
}

struct CsiSecretsWorkloadIdentity {
    settings: Settings,
}

/// A non-blank string.
fn text(node: Node<'_>) -> Option<&str> {
    node.as_str().map(str::trim).filter(|v| !v.is_empty())
}

impl CsiSecretsWorkloadIdentity {
    /// The client ID the pod's ServiceAccount gives it, or a violation explaining why
    /// there is none that can be checked.
    fn service_account_client_id<'r>(
        &self,
        pod: &PodSpec<'_>,
        namespace: &str,
        render: &'r Render<'_>,
        out: &mut Vec<Violation>,
    ) -> Option<&'r str> {
        let name = text(pod.get("serviceAccountName"))
            .or_else(|| text(pod.get("serviceAccount")))
            .unwrap_or("default");
        let path = pod.path.key("serviceAccountName");
        let Some(account) = render.find("ServiceAccount", namespace, name) else {
            if self.settings.require_service_account_in_render {
                out.push(Violation::new(
                    path,
                    format!(
                        "ServiceAccount {name:?} is not in the render, so its {CLIENT_ID_ANNOTATION} \
                         annotation cannot be checked (set requireServiceAccountInRender: false \
                         if ServiceAccounts are managed elsewhere)"
                    ),
                ));
            }
            return None;
        };
        let client_id = text(account.annotations().get(CLIENT_ID_ANNOTATION));
        if client_id.is_none() {
            out.push(Violation::new(
                path,
                format!(
                    "ServiceAccount {name:?} has no {CLIENT_ID_ANNOTATION} annotation: the pod has \
                     no Workload Identity to read Key Vault with"
                ),
            ));
        }
        client_id
    }
}

/// Checks the SecretProviderClass a CSI volume names: it exists in the render, in the
/// pod's namespace, and uses the ServiceAccount's client ID.
fn check_provider_class(
    volume: &Volume<'_>,
    namespace: &str,
    render: &Render<'_>,
    client_id: Option<&str>,
    out: &mut Vec<Violation>,
) {
    let path = volume
        .path
        .keys(&["csi", "volumeAttributes", "secretProviderClass"]);
    let volume_name = volume.node.str("name").unwrap_or_default();
    let Some(name) = text(
        volume
            .node
            .path(&["csi", "volumeAttributes", "secretProviderClass"]),
    ) else {
        out.push(Violation::new(
            path,
            format!("secrets-store volume {volume_name:?} names no secretProviderClass"),
        ));
        return;
    };
    let Some(class) = render.find("SecretProviderClass", namespace, name) else {
        let elsewhere = render
            .of_kind("SecretProviderClass")
            .find(|c| c.name() == name)
            .map_or(String::new(), |c| {
                format!("; one is in namespace {:?}", c.namespace())
            });
        out.push(Violation::new(
            path,
            format!(
                "SecretProviderClass {name:?} is not in the render in namespace {namespace:?}{elsewhere}: \
                 a pod can only mount one of its own namespace"
            ),
        ));
        return;
    };
    let class_id = text(class.path(&["spec", "parameters", "clientID"]));
    if let (Some(account_id), Some(class_id)) = (client_id, class_id)
        && !account_id.eq_ignore_ascii_case(class_id)
    {
        out.push(Violation::new(
            path,
            format!(
                "SecretProviderClass {name:?} uses a clientID other than the {CLIENT_ID_ANNOTATION} \
                 of the pod's ServiceAccount"
            ),
        ));
    }
}

impl Policy for CsiSecretsWorkloadIdentity {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "csi-secrets-workload-identity",
            "Pods mounting Key Vault secrets must use Workload Identity",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "For a pod (of any workload kind) with a secrets-store.csi.k8s.io volume: the pod \
             carries the label azure.workload.identity/use: \"true\"; its ServiceAccount is in \
             the render (unless requireServiceAccountInRender is false) and annotated with \
             azure.workload.identity/client-id; each SecretProviderClass it mounts is in the \
             render, in the pod's namespace, and its clientID matches that annotation.",
        )
        .severity(Severity::High)
        .category("secrets")
        .targets(workload_kinds())
        .inventory([
            KindSelector::new("", "ServiceAccount"),
            KindSelector::new("secrets-store.csi.x-k8s.io", "SecretProviderClass"),
        ])
        .controls([
            Control::cis(
                "5.4.1",
                "Prefer using Secrets as files over Secrets as environment variables",
            ),
            Control::cis("5.4.2", "Consider external secret storage"),
            Control::iso27001("A.8.5", "Secure authentication"),
        Control::gdpr("Art. 32(1)(b)", "The ability to ensure the ongoing confidentiality, integrity, availability and resilience of processing systems and services"), ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(CsiSecretsWorkloadIdentity { settings })
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let volumes: Vec<Volume<'_>> = pod
            .volumes()
            .filter(|v| v.node.path(&["csi", "driver"]).as_str() == Some(DRIVER))
            .collect();
        if volumes.is_empty() {
            return Vec::new();
        }
        let mut violations = Vec::new();
        if pod.metadata.path(&["labels", USE_LABEL]).as_str() != Some("true") {
            violations.push(Violation::new(
                pod.metadata_path.key("labels").key(USE_LABEL),
                format!(
                    "the pod mounts a {DRIVER} volume but lacks the label {USE_LABEL}: \"true\", so \
                     no Workload Identity token is projected"
                ),
            ));
        }
        let namespace = object.namespace();
        let client_id = self.service_account_client_id(&pod, namespace, render, &mut violations);
        for volume in &volumes {
            check_provider_class(volume, namespace, render, client_id, &mut violations);
        }
        violations
    }
}

export_policy!(CsiSecretsWorkloadIdentity);
