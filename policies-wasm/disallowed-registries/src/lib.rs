//! disallowed-registries: no container image may come from a denied registry or repository.
//!
//! The inverse of `allowed-registries`: useful to retire a registry (`k8s.gcr.io/` was
//! frozen in 2023) or to keep public mirrors out. Settings take the parameters of
//! Gatekeeper's `K8sDisallowedRepos`: `repos` lists image prefixes that are denied.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Denied image prefixes, e.g. `k8s.gcr.io/`. End a registry with `/` so that
    /// `k8s.gcr.io.example.com` is not caught by `k8s.gcr.io`.
    repos: Vec<String>,
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

struct DisallowedRegistries {
    settings: Settings,
}

impl Policy for DisallowedRegistries {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "disallowed-registries",
            "Images must not come from denied registries",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies init, regular and ephemeral containers whose image starts with a denied \
             prefix, such as a retired registry or an unvetted public mirror. Gatekeeper \
             K8sDisallowedRepos, with its parameter names.",
        )
        .severity(Severity::High)
        .category("supply-chain")
        .targets(workload_kinds())
        .controls([
            Control::cis(
                "5.5.1",
                "Configure Image Provenance using ImagePolicyWebhook admission controller",
            ),
            Control::iso27001("A.8.19", "Installation of software on operational systems"),
        ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let errors: Vec<SettingsError> = settings
            .repos
            .iter()
            .enumerate()
            .filter(|(_, repo)| repo.trim().is_empty())
            .map(|(i, _)| {
                SettingsError::new(
                    format!("repos[{i}]"),
                    "must not be empty: it would deny every image",
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(DisallowedRegistries { settings })
        } else {
            Err(errors)
        }
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        containers(object)
            .filter(|c| {
                !container_exempt(
                    c,
                    &self.settings.exempt_images,
                    &self.settings.excluded_containers,
                )
            })
            .filter_map(|c| {
                let repo = self
                    .settings
                    .repos
                    .iter()
                    .find(|repo| c.image().starts_with(repo.as_str()))?;
                Some(Violation::new(
                    c.path.key("image"),
                    format!(
                        "{} uses image {:?}, which is from the denied repository {repo:?}",
                        c.describe(),
                        c.image()
                    ),
                ))
            })
            .collect()
    }
}

export_policy!(DisallowedRegistries);
