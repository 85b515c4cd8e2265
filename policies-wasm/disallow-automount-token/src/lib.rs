//! disallow-automount-token: pods do not get a service account token they did not ask for.
//!
//! Kubernetes mounts an API token into every pod unless the pod or its ServiceAccount
//! says `automountServiceAccountToken: false`; a compromised container then holds
//! credentials for the API server. Gatekeeper's `K8sPSPAutomountServiceAccountTokenPod`
//! denies pods that will get the token mounted (it sees the mount the admission chain
//! added); Azure Policy's "Kubernetes clusters should disable automounting API
//! credentials" is the same rule. In a render nothing was injected yet, so a pod passes
//! when it sets the field to `false`, or leaves it unset and its ServiceAccount, in the
//! render, sets it to `false`.

use gate_policy_sdk::prelude::*;

/// Settings: none.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {}

struct DisallowAutomountToken;

const FIELD: &str = "automountServiceAccountToken";

impl Policy for DisallowAutomountToken {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "disallow-automount-token",
            "Pods must not automount a service account token",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies workloads whose pods get an API token mounted: \
             automountServiceAccountToken is true, or unset while the pod's ServiceAccount \
             (looked up in the render) does not set it to false. A compromised container \
             then holds credentials for the API server. Gatekeeper \
             K8sPSPAutomountServiceAccountTokenPod and Azure Policy's automount definition.",
        )
        .severity(Severity::Medium)
        .category("pod-security")
        .targets(workload_kinds())
        .inventory([KindSelector::new("", "ServiceAccount")])
        .controls([
            Control::cis(
                "5.1.6",
                "Ensure that Service Account Tokens are only mounted where necessary",
            ),
            Control::iso27001("A.8.2", "Privileged access rights"),
        ])
    }

    fn new(_settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(DisallowAutomountToken)
    }

    fn evaluate(&self, object: &Object<'_>, render: &Render<'_>) -> Vec<Violation> {
        let Some(pod) = pod_spec(object) else {
            return Vec::new();
        };
        let path = pod.path.key(FIELD);
        match pod.boolean(&[FIELD]) {
            Ok(Some(false)) => Vec::new(),
            Ok(Some(true)) => vec![Violation::new(
                path,
                format!("{} {:?} sets {FIELD}: true", object.kind(), object.name()),
            )],
            Err(wrong_type) => vec![wrong_type],
            Ok(None) => {
                let account = pod
                    .get("serviceAccountName")
                    .as_str()
                    .or_else(|| pod.get("serviceAccount").as_str())
                    .filter(|name| !name.is_empty())
                    .unwrap_or("default");
                let opted_out = render
                    .find("ServiceAccount", object.namespace(), account)
                    // Only a real `false` opts out; a string "false" does not.
                    .is_some_and(|sa| sa.boolean(&[FIELD]) == Ok(Some(false)));
                if opted_out {
                    return Vec::new();
                }
                vec![Violation::new(
                    path,
                    format!(
                        "{} {:?} leaves {FIELD} unset and its ServiceAccount {account:?} does not \
                         set it to false in this render, so the API token is mounted; set {FIELD}: false",
                        object.kind(),
                        object.name()
                    ),
                )]
            }
        }
    }
}

export_policy!(DisallowAutomountToken);
