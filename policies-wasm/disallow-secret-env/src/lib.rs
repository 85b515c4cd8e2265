//! disallow-secret-env: Secrets reach containers as files, never as environment
//! variables.
//!
//! CIS Kubernetes Benchmark 5.4.1: an environment variable leaks through process
//! listings, crash dumps, child processes and `kubectl describe`; a Secret mounted as a
//! file (or through the Secrets Store CSI driver) does not. Denies every
//! `env[].valueFrom.secretKeyRef` and `envFrom[].secretRef` of init, regular and
//! ephemeral containers in every workload kind, whatever the Secret holds. Values are
//! never read, so never quoted.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings, with the parameter names of Azure Policy and the Gatekeeper library.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Secret names that containers may still read as environment variables.
    allowed_secret_names: Vec<String>,
    /// Images exempt from the check. A trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

struct DisallowSecretEnv {
    settings: Settings,
}

const REMEDY: &str = "mount the Secret as a volume (or use the Secrets Store CSI driver) and \
                      read it as a file";

impl DisallowSecretEnv {
    fn allowed(&self, secret: Node<'_>) -> bool {
        secret
            .str("name")
            .is_some_and(|name| self.settings.allowed_secret_names.iter().any(|a| a == name))
    }

    fn container(&self, container: &Container<'_>) -> Vec<Violation> {
        let who = container.describe();
        let mut out = Vec::new();
        let env_path = container.path.key("env");
        for (i, env) in container.get("env").items().enumerate() {
            // Any value here counts, even one of the wrong type: it is not an absence.
            let reference = env.path(&["valueFrom", "secretKeyRef"]);
            if reference.is_null() || self.allowed(reference) {
                continue;
            }
            out.push(Violation::new(
                env_path.index(i).keys(&["valueFrom", "secretKeyRef"]),
                format!(
                    "{who}: env var {:?} reads key {:?} of Secret {:?} into the environment; {REMEDY}",
                    env.str("name").unwrap_or_default(),
                    reference.str("key").unwrap_or_default(),
                    reference.str("name").unwrap_or_default(),
                ),
            ));
        }
        let from_path = container.path.key("envFrom");
        for (i, from) in container.get("envFrom").items().enumerate() {
            let reference = from.get("secretRef");
            if reference.is_null() || self.allowed(reference) {
                continue;
            }
            out.push(Violation::new(
                from_path.index(i).key("secretRef"),
                format!(
                    "{who}: envFrom[{i}] loads every key of Secret {:?} into the environment; {REMEDY}",
                    reference.str("name").unwrap_or_default(),
                ),
            ));
        }
        out
    }
}

impl Policy for DisallowSecretEnv {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "disallow-secret-env",
            "Secrets must be mounted as files, not set as environment variables",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies env[].valueFrom.secretKeyRef and envFrom[].secretRef in every init, \
             regular and ephemeral container of every workload kind. Environment variables \
             leak through process listings, crash dumps, child processes and kubectl \
             describe; mount Secrets as files, or through the Secrets Store CSI driver. \
             allowedSecretNames lists Secrets that may still be read as variables.",
        )
        .severity(Severity::Medium)
        .category("secrets")
        .targets(workload_kinds())
        .controls([
            Control::cis(
                "5.4.1",
                "Prefer using Secrets as files over Secrets as environment variables",
            ),
            Control::iso27001("A.5.17", "Authentication information"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let errors =
            SettingsError::blank_entries("allowedSecretNames", &settings.allowed_secret_names);
        if errors.is_empty() {
            Ok(DisallowSecretEnv { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        let settings = &self.settings;
        containers(object)
            .filter(|c| {
                !container_exempt(c, &settings.exempt_images, &settings.excluded_containers)
            })
            .flat_map(|c| self.container(&c))
            .collect()
    }
}

export_policy!(DisallowSecretEnv);
