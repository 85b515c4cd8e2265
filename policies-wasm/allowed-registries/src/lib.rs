//! allowed-registries: container images must come from approved registries.
//!
//! By default only Azure Container Registry images are allowed, with the regular
//! expression that Azure Policy uses: `^[^/]+\.azurecr\.io/.+$`. Settings also take the
//! parameters of Gatekeeper's `K8sAllowedRepos` (`repos`: prefixes) and
//! `K8sAllowedReposv2` (`allowedImages`: exact images, or prefixes ending in `*`).

use gate_policy_sdk::prelude::*;
use gate_policy_sdk::{container_exempt, image_matches};
use regex_lite::Regex;

/// Azure Policy's default for "Kubernetes cluster containers should only use allowed images".
const AZURE_DEFAULT: &str = r"^[^/]+\.azurecr\.io/.+$";

/// Settings. Give registry prefixes, image patterns, a regular expression, or several
/// (an image passes if it matches any). With none, Azure's ACR-only regex applies.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Allowed image prefixes, e.g. `myacr.azurecr.io/`. Gatekeeper calls them `repos`.
    #[serde(alias = "repos")]
    registries: Vec<String>,
    /// Allowed images (Gatekeeper's `K8sAllowedReposv2`): an exact image such as
    /// `ubuntu:20.14`, or a prefix ending in `*` such as `myregistry.azurecr.io/*`.
    allowed_images: Vec<String>,
    /// A regular expression every image must match (Azure Policy's parameter name).
    allowed_container_images_regex: Option<String>,
    /// Images exempt from the check. A trailing `*` matches any suffix. Azure calls them
    /// `excludedImages`.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the check.
    excluded_containers: Vec<String>,
}

struct AllowedRegistries {
    prefixes: Vec<String>,
    regex: Option<Regex>,
    settings: Settings,
}

impl AllowedRegistries {
    fn allows(&self, image: &str) -> bool {
        self.prefixes.iter().any(|p| image.starts_with(p.as_str()))
            || self
                .settings
                .allowed_images
                .iter()
                .any(|p| image_matches(p, image))
            || self.regex.as_ref().is_some_and(|r| r.is_match(image))
    }

    fn allowed_list(&self) -> String {
        let mut parts: Vec<String> = self
            .prefixes
            .iter()
            .chain(&self.settings.allowed_images)
            .map(|p| format!("{p:?}"))
            .collect();
        if let Some(r) = &self.regex {
            parts.push(format!("/{}/", r.as_str()));
        }
        parts.join(", ")
    }
}

impl Policy for AllowedRegistries {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "allowed-registries",
            "Images must come from allowed registries",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies containers whose image does not start with an allowed registry prefix \
                 or match the allowed regular expression. The default allows only Azure \
                 Container Registry images (^[^/]+\\.azurecr\\.io/.+$), as Azure Policy does.",
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
        let mut errors = Vec::new();
        for (i, prefix) in settings.registries.iter().enumerate() {
            if prefix.trim().is_empty() {
                errors.push(SettingsError::new(
                    format!("registries[{i}]"),
                    "must not be empty",
                ));
            }
        }
        let nothing_else = settings.registries.is_empty() && settings.allowed_images.is_empty();
        let pattern = match (&settings.allowed_container_images_regex, nothing_else) {
            (Some(pattern), _) => Some(pattern.as_str()),
            (None, true) => Some(AZURE_DEFAULT),
            (None, false) => None,
        };
        let regex = match pattern.map(Regex::new).transpose() {
            Ok(regex) => regex,
            Err(e) => {
                errors.push(SettingsError::new(
                    "allowedContainerImagesRegex",
                    e.to_string(),
                ));
                None
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AllowedRegistries {
            prefixes: settings.registries.clone(),
            regex,
            settings,
        })
    }

    fn evaluate(&self, object: &Object<'_>, _render: &Render<'_>) -> Vec<Violation> {
        containers(object)
            .filter(|c| {
                !container_exempt(
                    c,
                    &self.settings.exempt_images,
                    &self.settings.excluded_containers,
                ) && !self.allows(c.image())
            })
            .map(|c| {
                let message = if c.image().is_empty() {
                    format!("{} has no image", c.describe())
                } else {
                    format!(
                        "{} uses image {:?}, which is not from an allowed registry ({})",
                        c.describe(),
                        c.image(),
                        self.allowed_list()
                    )
                };
                Violation::new(c.path.key("image"), message)
            })
            .collect()
    }
}

export_policy!(AllowedRegistries);
