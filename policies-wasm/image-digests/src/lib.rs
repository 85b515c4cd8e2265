//! image-digests: every container image is pinned by digest.
//!
//! A tag can be moved to other content at any time, by the publisher or by anyone who
//! takes over the repository; a digest names exactly one image. Settings take the
//! parameters of Gatekeeper's `K8sImageDigests` (`exemptImages`), plus Azure's
//! `excludedImages` and `excludedContainers`.

use gate_policy_sdk::container_exempt;
use gate_policy_sdk::prelude::*;

/// Settings.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
struct Settings {
    /// Images exempt from the rule; a trailing `*` matches any suffix.
    #[serde(alias = "excludedImages")]
    exempt_images: Vec<String>,
    /// Container names exempt from the rule.
    excluded_containers: Vec<String>,
}

struct ImageDigests {
    settings: Settings,
}

/// A digest is `algorithm:encoded`, e.g. `sha256:04ff...`: both parts present and made of
/// the characters the OCI image spec allows.
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    !algorithm.is_empty()
        && !encoded.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
}

impl Policy for ImageDigests {
    type Settings = Settings;

    fn info() -> Info {
        Info::new("image-digests", "Images must be pinned by digest")
            .version(env!("CARGO_PKG_VERSION"))
            .description(
                "Denies init, regular and ephemeral containers whose image is not pinned by \
                 digest (image@sha256:...). A tag can be moved to other content at any time; \
                 a digest names exactly the image that was reviewed. Gatekeeper \
                 K8sImageDigests, with its parameter names.",
            )
            .severity(Severity::Medium)
            .category("supply-chain")
            .targets(workload_kinds())
            .controls([
                Control::iso27001("A.8.19", "Installation of software on operational systems"),
                Control::iso27001("A.8.32", "Change management"),
            ])
    }

    fn new(settings: Settings) -> Result<Self, Vec<SettingsError>> {
        Ok(ImageDigests { settings })
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
            .filter(|c| !ImageRef::parse(c.image()).digest.is_some_and(is_digest))
            .map(|c| {
                Violation::new(
                    c.path.key("image"),
                    format!(
                        "{} uses image {:?}, which is not pinned by digest",
                        c.describe(),
                        c.image()
                    ),
                )
            })
            .collect()
    }
}

export_policy!(ImageDigests);
