//! disallowed-tags: images name a tag (or a digest), and not a denied one such as `latest`.
//!
//! A moving tag makes a deployment unreproducible: the same manifest runs different code
//! from one pull to the next, and a rollback may not roll anything back. An image with no
//! tag means `latest`. Settings take the parameters of Gatekeeper's `K8sDisallowedTags`
//! (`tags`, `exemptImages`) plus Azure's `excludedImages` and `excludedContainers`;
//! `tags` defaults to `[latest]`. An image pinned by digest passes whatever its tag.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Denied tags. Default: `[latest]`.
    tags: Vec<String>,
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tags: vec!["latest".to_owned()],
            exempt_images: Vec::new(),
            excluded_containers: Vec::new(),
        }
    }
}

struct DisallowedTags {
    settings: Settings,
}

impl DisallowedTags {
    fn problem(&self, image: &ImageRef<'_>) -> Option<String> {
        if image.digest.is_some() {
            return None;
        }
        match image.tag {
            None => Some(format!(
                "image {:?} names no tag, so it runs whatever `latest` is at pull time",
                image.raw
            )),
            Some(tag) if self.settings.tags.iter().any(|t| t == tag) => Some(format!(
                "image {:?} uses the denied tag {tag:?} (denied: {})",
                image.raw,
                self.settings.tags.join(", ")
            )),
            Some(_) => None,
        }
    }
}

impl Policy for DisallowedTags {
    type Settings = Settings;

    fn info() -> Info {
        Info::new(
            "disallowed-tags",
            "Images must not use latest or another denied tag",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Denies init, regular and ephemeral containers whose image has no tag (which \
                 means latest) or a denied tag, unless the image is pinned by digest. A moving \
                 tag makes deployments unreproducible and rollbacks unreliable. Gatekeeper \
                 K8sDisallowedTags and Azure Policy's no-latest-tag definition.",
        )
        .severity(Severity::Medium)
        .category("supply-chain")
        .targets(workload_kinds())
        .controls([Control::iso27001("A.8.32", "Change management")])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        let errors: Vec<SettingsError> = settings
            .tags
            .iter()
            .enumerate()
            .filter(|(_, tag)| tag.trim().is_empty())
            .map(|(i, _)| SettingsError::new(format!("tags[{i}]"), "must not be empty"))
            .collect();
        if errors.is_empty() {
            Ok(DisallowedTags { settings })
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
                let problem = self.problem(&ImageRef::parse(c.image()))?;
                Some(Violation::new(
                    c.path.key("image"),
                    format!("{}: {problem}", c.describe()),
                ))
            })
            .collect()
    }
}

export_policy!(DisallowedTags);
